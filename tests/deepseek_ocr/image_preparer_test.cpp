// The deepseek-ocr image preparation (image_preparer.h) and the request's use
// of it: an image is prepared once per request, on the preparer's thread, and
// the prefill's encode gives the rows of a direct prepare_image + encode; the
// planned content hash / placeholder count equal prepare_image's; the budget
// of prepared bytes holds the thread back, take() on a queued image prepares
// it on the caller's thread, a dropped ticket is never prepared; a bad image
// fails at take with the decoder's message. With an encode function the
// preparer's encoder thread encodes the image off the caller's thread and the
// prefill gets the direct rows; take() encodes on the caller's thread what the
// encoder thread had not picked, one encode at a time; an encoding error
// reaches take; a preparer gone leaves its tickets' images unencoded; ready()
// turns true only once take would not wait for the threads.
#include "deepseek_ocr/ocr_fixtures.hpp"

#include "image_preparer.h"
#include "ocr_request.h"

#include "runtime/text/tokenizer.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
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
  const EncodeReport report = request.encode(*encoder);
  CHECK_FALSE(report.prepared_here);  // prepared by the preparer's thread
  CHECK(report.encoded_here);         // no encode function: encoded here
  CHECK(preparer.held_bytes() == 0);
  CHECK(request.image_rows() == encoder->encode(direct));
  CHECK_FALSE(request.encode(*encoder).prepared_here);  // encoded once: nothing prepared again
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

TEST_CASE("deepseek-ocr's encoder thread encodes a request's image off the step thread, for the same rows",
          "[deepseek-ocr]") {
  const auto cases = fixture_cases();
  REQUIRE_FALSE(cases.empty());
  const FixtureCase& c = cases.front();
  const ResolutionMode mode = parse_resolution_mode(c.mode);
  const std::vector<uint8_t> bytes = read_bytes(data_dir() / c.image);
  const ImagePlan plan = plan_image(decode_image(bytes), mode);

  ThreadPool pool(2);
  const auto encoder = DeepEncoder::load_cpu(data_dir() / "model", pool);
  std::atomic<int> encoded{0};
  std::atomic<std::thread::id> encoded_on{};
  ImagePreparer preparer(size_t{64} << 20, {}, [&](const PreparedImage& image) {
    ++encoded;
    encoded_on = std::this_thread::get_id();
    return encoder->encode(image);
  });
  CHECK(preparer.encodes());

  const citadel::runtime::Tokenizer tokenizer = citadel::runtime::Tokenizer::from_file(data_dir() / "model/tokenizer.json");
  OcrRequestSetup setup;
  setup.prompt.assign(static_cast<size_t>(plan.num_image_tokens) + 2, 0);
  setup.image_begin = 1;
  setup.image_tokens = static_cast<uint32_t>(plan.num_image_tokens);
  setup.content_hash = plan.content_hash;
  setup.max_new_tokens = 4;
  setup.image = preparer.submit(ImageSource{bytes, mode, {}, kDefaultMaxCrops, plan.prepared_bytes()});
  OcrRequest request(std::move(setup), tokenizer);

  // Encoded in the background: what the preparer holds is the rows, not the pixels.
  const size_t row_bytes = static_cast<size_t>(plan.num_image_tokens * encoder->lm_hidden()) * sizeof(float);
  REQUIRE(eventually([&] { return encoded == 1 && preparer.held_bytes() == row_bytes; }));
  CHECK(encoded_on.load() != std::this_thread::get_id());
  CHECK(preparer.encoder_seconds() > 0);

  const EncodeReport report = request.encode(*encoder);
  CHECK_FALSE(report.prepared_here);
  CHECK_FALSE(report.encoded_here);
  CHECK(report.encoder_seconds == 0);
  CHECK(encoded == 1);
  CHECK(preparer.held_bytes() == 0);
  CHECK(request.image_rows() == encoder->encode(prepare_image(bytes, mode)));
}

TEST_CASE("deepseek-ocr's preparer encodes on take what its encoder thread had not picked, one encode at a time",
          "[deepseek-ocr]") {
  constexpr size_t kFloats = 1000, kRows = 10;
  // An image's pixels are all its first byte; its rows all twice that.
  auto prepare = [](const ImageSource& source) {
    PreparedImage image;
    image.global_pixels.assign(kFloats, static_cast<float>(source.bytes.at(0)));
    image.num_image_tokens = 1;
    return image;
  };
  std::mutex gate_mutex;
  std::condition_variable gate_changed;
  bool gate_open = false;
  std::atomic<int> in_flight{0}, most_in_flight{0}, encodes{0};
  std::atomic<std::thread::id> last_encoded_on{};
  const std::thread::id test_thread = std::this_thread::get_id();
  auto encode = [&](const PreparedImage& image) {
    const int now = ++in_flight;
    most_in_flight = std::max(most_in_flight.load(), now);
    ++encodes;
    last_encoded_on = std::this_thread::get_id();
    if (std::this_thread::get_id() != test_thread) {  // the encoder thread waits for the gate
      std::unique_lock lock(gate_mutex);
      gate_changed.wait(lock, [&] { return gate_open; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --in_flight;
    if (image.global_pixels.at(0) == 9.0f) throw citadel::runtime::RuntimeError(CITADEL_ERR_INTERNAL, "encoder boom");
    return std::vector<float>(kRows, 2 * image.global_pixels.at(0));
  };
  auto open_gate = [&] {
    std::lock_guard lock(gate_mutex);
    gate_open = true;
    gate_changed.notify_all();
  };
  auto source = [&](uint8_t value) { return ImageSource{{value}, ResolutionMode::tiny, {}, 2, kFloats * sizeof(float)}; };

  auto preparer = std::make_unique<ImagePreparer>(size_t{1} << 20, prepare, encode);
  ImagePreparer::Ticket first = preparer->submit(source(1));
  REQUIRE(eventually([&] { return encodes == 1; }));  // the encoder thread holds the first at the gate
  ImagePreparer::Ticket second = preparer->submit(source(2));
  ImagePreparer::Ticket failing = preparer->submit(source(9));
  REQUIRE(eventually([&] { return preparer->held_bytes() == 3 * kFloats * sizeof(float); }));  // all prepared

  // The second is prepared and not picked: take encodes it here, after the first's encode.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    open_gate();
  });
  ImagePreparer::Taken taken = ImagePreparer::take(second);
  opener.join();
  CHECK(taken.encoded);
  CHECK(taken.encoded_by_caller);
  CHECK_FALSE(taken.prepared_by_caller);
  CHECK(taken.rows == std::vector<float>(kRows, 4.0f));
  CHECK(taken.image.global_pixels.empty());
  CHECK(taken.image.num_image_tokens == 1);
  CHECK(most_in_flight == 1);

  taken = ImagePreparer::take(first);
  CHECK(taken.encoded);
  CHECK_FALSE(taken.encoded_by_caller);
  CHECK(taken.rows == std::vector<float>(kRows, 2.0f));

  // The encoding error reaches take, whoever encoded.
  CHECK_THROWS_WITH(ImagePreparer::take(failing), Catch::Contains("encoder boom"));
  REQUIRE(eventually([&] { return preparer->held_bytes() == 0; }));

  // Encoded rows count in the budget and go with their ticket.
  ImagePreparer::Ticket dropped = preparer->submit(source(3));
  REQUIRE(eventually([&] { return preparer->held_bytes() == kRows * sizeof(float); }));
  dropped = ImagePreparer::Ticket();
  CHECK(preparer->held_bytes() == 0);

}

TEST_CASE("deepseek-ocr's preparer prepares and encodes a queued image on take", "[deepseek-ocr]") {
  constexpr size_t kFloats = 1000;
  std::atomic<std::thread::id> encoded_on{};
  auto owned = std::make_unique<ImagePreparer>(
      1,  // a byte: after the first, nothing more fits
      [](const ImageSource& source) {
        PreparedImage image;
        image.global_pixels.assign(kFloats, static_cast<float>(source.bytes.at(0)));
        return image;
      },
      [&](const PreparedImage& image) {
        encoded_on = std::this_thread::get_id();
        return std::vector<float>(3, image.global_pixels.at(0) + 1);
      });
  ImagePreparer& preparer = *owned;
  auto source = [&](uint8_t value) { return ImageSource{{value}, ResolutionMode::tiny, {}, 2, kFloats * sizeof(float)}; };
  ImagePreparer::Ticket first = preparer.submit(source(1));
  REQUIRE(eventually([&] { return preparer.held_bytes() == 3 * sizeof(float); }));
  CHECK(encoded_on.load() != std::this_thread::get_id());
  ImagePreparer::Ticket second = preparer.submit(source(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ImagePreparer::Taken taken = ImagePreparer::take(second);  // held back by the budget: made here
  CHECK(taken.prepared_by_caller);
  CHECK(taken.encoded_by_caller);
  CHECK(encoded_on.load() == std::this_thread::get_id());
  CHECK(taken.rows == std::vector<float>(3, 6.0f));
  taken = ImagePreparer::take(first);
  CHECK_FALSE(taken.encoded_by_caller);
  CHECK(taken.rows == std::vector<float>(3, 2.0f));
  CHECK(preparer.held_bytes() == 0);

  // With the preparer gone its tickets are taken unencoded (their encoder may be gone too).
  ImagePreparer::Ticket keeper = preparer.submit(source(1));
  REQUIRE(eventually([&] { return preparer.held_bytes() == 3 * sizeof(float); }));
  ImagePreparer::Ticket orphan = preparer.submit(source(4));  // held back by the budget
  owned.reset();
  taken = ImagePreparer::take(orphan);
  CHECK(taken.prepared_by_caller);
  CHECK_FALSE(taken.encoded);
  CHECK(taken.image.global_pixels == std::vector<float>(kFloats, 4.0f));
  taken = ImagePreparer::take(keeper);  // encoded before the preparer went
  CHECK(taken.rows == std::vector<float>(3, 2.0f));
}

TEST_CASE("deepseek-ocr's preparer says an image is ready once take would not wait for its threads",
          "[deepseek-ocr]") {
  std::mutex gate_mutex;
  std::condition_variable gate_changed;
  bool gate_open = false;
  auto wait_gate = [&] {
    std::unique_lock lock(gate_mutex);
    gate_changed.wait(lock, [&] { return gate_open; });
  };
  auto open_gate = [&] {
    std::lock_guard lock(gate_mutex);
    gate_open = true;
    gate_changed.notify_all();
  };
  auto prepare = [](const ImageSource& source) {
    PreparedImage image;
    image.global_pixels.assign(16, static_cast<float>(source.bytes.at(0)));
    image.num_image_tokens = 1;
    return image;
  };
  auto source = [](uint8_t value) { return ImageSource{{value}, ResolutionMode::tiny, {}, 2, 64}; };
  // Opens the gate when a section ends, before its preparer joins its threads.
  struct OpenOnExit {
    std::function<void()> open;
    ~OpenOnExit() { open(); }
  };
  CHECK(ImagePreparer::ready(ImagePreparer::Ticket()));

  SECTION("with an encoder thread: ready once encoded") {
    std::atomic<int> encodes{0};
    ImagePreparer preparer(size_t{1} << 20, prepare, [&](const PreparedImage& image) {
      ++encodes;
      wait_gate();
      return std::vector<float>(4, image.global_pixels.at(0));
    });
    const OpenOnExit guard{open_gate};
    ImagePreparer::Ticket first = preparer.submit(source(1));
    REQUIRE(eventually([&] { return encodes == 1; }));  // being encoded, held at the gate
    ImagePreparer::Ticket second = preparer.submit(source(2));
    REQUIRE(eventually([&] { return preparer.held_bytes() >= 2 * 16 * sizeof(float); }));  // prepared, not encoded
    CHECK_FALSE(ImagePreparer::ready(first));
    CHECK_FALSE(ImagePreparer::ready(second));
    open_gate();
    REQUIRE(eventually([&] { return ImagePreparer::ready(first) && ImagePreparer::ready(second); }));
    CHECK(ImagePreparer::take(first).rows == std::vector<float>(4, 1.0f));
    CHECK(ImagePreparer::take(second).rows == std::vector<float>(4, 2.0f));
    CHECK(ImagePreparer::ready(first));  // taken: an empty ticket
  }
  SECTION("without one: ready once prepared (the caller encodes)") {
    ImagePreparer preparer(size_t{1} << 20, [&](const ImageSource& s) {
      wait_gate();
      return prepare(s);
    });
    const OpenOnExit guard{open_gate};
    ImagePreparer::Ticket ticket = preparer.submit(source(3));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_FALSE(ImagePreparer::ready(ticket));
    open_gate();
    REQUIRE(eventually([&] { return ImagePreparer::ready(ticket); }));
    const ImagePreparer::Taken taken = ImagePreparer::take(ticket);
    CHECK_FALSE(taken.encoded);
    CHECK_FALSE(taken.prepared_by_caller);
  }
}
