// The deepseek-ocr image preparation (image_preparer.h) and the request's use
// of it: an image is prepared once per request, on the preparer's thread, and
// the prefill's encode gives the rows of a direct prepare_image + encode; the
// planned content hash / placeholder count equal prepare_image's; the budget
// of prepared bytes holds the thread back, take() on a queued image prepares
// it on the caller's thread, a dropped ticket is never prepared; a bad image
// fails at take with the decoder's message.
#include "deepseek_ocr/ocr_fixtures.hpp"

#include "image_preparer.h"
#include "ocr_request.h"

#include "runtime/text/tokenizer.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace citadel::deepseek_ocr;
using namespace citadel::test::ocr;
using citadel::runtime::ThreadPool;

namespace {

// Polls `done` for up to 10 s.
template <typename F>
bool eventually(F done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("deepseek-ocr prepares a request's image once, off the step thread, for the same rows",
          "[deepseek-ocr]") {
  const auto cases = fixture_cases();
  REQUIRE_FALSE(cases.empty());
  const FixtureCase& c = cases.front();
  const ResolutionMode mode = parse_resolution_mode(c.mode);
  const std::vector<uint8_t> bytes = read_bytes(data_dir() / c.image);

  std::atomic<int> prepared{0};
  std::atomic<std::thread::id> prepared_on{};
  ImagePreparer preparer(size_t{64} << 20, [&](const ImageSource& source) {
    ++prepared;
    prepared_on = std::this_thread::get_id();
    return prepare_image(source.bytes, source.mode, source.limits, source.max_crops);
  });

  // Planning (request_open) gives prepare_image's count and hash without the views.
  const ImagePlan plan = plan_image(decode_image(bytes), mode);
  const PreparedImage direct = prepare_image(bytes, mode);
  CHECK(plan.num_image_tokens == c.image_tokens);
  CHECK(plan.num_image_tokens == direct.num_image_tokens);
  CHECK(plan.content_hash == direct.content_hash);
  CHECK(plan.grid.count() == direct.grid.count());
  CHECK(plan.prepared_bytes() == (direct.global_pixels.size() + direct.tile_pixels.size()) * sizeof(float));

  const citadel::runtime::Tokenizer tokenizer = citadel::runtime::Tokenizer::from_file(data_dir() / "model/tokenizer.json");
  OcrRequestSetup setup;
  setup.prompt.assign(static_cast<size_t>(plan.num_image_tokens) + 2, 0);
  setup.image_begin = 1;
  setup.image_tokens = static_cast<uint32_t>(plan.num_image_tokens);
  setup.content_hash = plan.content_hash;
  setup.max_new_tokens = 4;
  ImageSource source{bytes, mode, {}, kDefaultMaxCrops, plan.prepared_bytes()};
  setup.image = preparer.submit(std::move(source));
  OcrRequest request(std::move(setup), tokenizer);

  REQUIRE(eventually([&] { return preparer.held_bytes() == plan.prepared_bytes(); }));
  CHECK(prepared == 1);
  CHECK(prepared_on.load() != std::this_thread::get_id());

  ThreadPool pool(2);
  const auto encoder = DeepEncoder::load_cpu(data_dir() / "model", pool);
  CHECK_FALSE(request.encode(*encoder));  // prepared by the preparer's thread
  CHECK(preparer.held_bytes() == 0);
  CHECK(request.image_rows() == encoder->encode(direct));
  CHECK_FALSE(request.encode(*encoder));  // encoded once: nothing prepared again
  CHECK(prepared == 1);
}

TEST_CASE("deepseek-ocr's image preparer keeps to its budget and prepares a queued image on take",
          "[deepseek-ocr]") {
  constexpr size_t kFloats = 1000, kBytes = kFloats * sizeof(float);
  std::atomic<int> prepared{0};
  ImagePreparer preparer(kBytes / 2, [&](const ImageSource&) {
    ++prepared;
    PreparedImage image;
    image.global_pixels.assign(kFloats, 0.5f);
    return image;
  });
  auto submit = [&] { return preparer.submit(ImageSource{{1, 2, 3}, ResolutionMode::tiny, {}, 2, kBytes}); };

  ImagePreparer::Ticket first = submit();  // the first always may, over budget or not
  REQUIRE(eventually([&] { return preparer.held_bytes() == kBytes; }));
  ImagePreparer::Ticket second = submit();
  ImagePreparer::Ticket dropped = submit();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(prepared == 1);  // over budget: the thread waits

  ImagePreparer::Taken taken = ImagePreparer::take(second);  // still queued: prepared here
  CHECK(taken.prepared_by_caller);
  CHECK(taken.image.global_pixels.size() == kFloats);
  CHECK(prepared == 2);
  CHECK_FALSE(second);
  CHECK_THROWS_WITH(ImagePreparer::take(second), Catch::Contains("already taken"));

  dropped = ImagePreparer::Ticket();  // never prepared
  first = ImagePreparer::Ticket();    // its pixels freed, its budget back
  CHECK(preparer.held_bytes() == 0);
  ImagePreparer::Ticket third = submit();
  REQUIRE(eventually([&] { return preparer.held_bytes() == kBytes; }));
  CHECK(prepared == 3);
  taken = ImagePreparer::take(third);
  CHECK_FALSE(taken.prepared_by_caller);
  CHECK(preparer.held_bytes() == 0);
}

TEST_CASE("deepseek-ocr's image preparer passes a bad image's error to take", "[deepseek-ocr]") {
  ImagePreparer preparer(size_t{1} << 20);
  const std::vector<uint8_t> garbage = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  ImagePreparer::Ticket ticket = preparer.submit(ImageSource{garbage, ResolutionMode::tiny, {}, 2, 4});
  CHECK_THROWS_AS(ImagePreparer::take(ticket), ImageInputError);
  CHECK(preparer.held_bytes() == 0);
}
