// Grounding spans into pixel boxes: the reference's int(v / 999 * size),
// several boxes per span, malformed spans, and text cut at every byte.
#include "host/http/grounding_parser.h"

#include <catch2/catch.hpp>

using namespace citadel::http;

namespace {

const std::string kText =
    "# Title\n<|ref|>title<|/ref|><|det|>[[0, 0, 999, 499]]<|/det|>\nbody "
    "<|ref|>table<|/ref|><|det|>[[100,200,300,400], [500.5,600,999,999]]<|/det|> end <|ref|";

}  // namespace

TEST_CASE("grounding spans become boxes in pixels of the page", "[http][grounding]") {
  const std::vector<GroundingBox> boxes = parse_grounding(kText, 1000, 2000);
  REQUIRE(boxes.size() == 3);
  CHECK(boxes[0].label == "title");
  CHECK(boxes[0].box == std::array<int64_t, 4>{0, 0, 1000, 998});  // 499/999*2000 = 998.99
  CHECK(boxes[1].label == "table");
  CHECK(boxes[1].box == std::array<int64_t, 4>{100, 400, 300, 800});
  CHECK(boxes[2].box == std::array<int64_t, 4>{501, 1201, 1000, 2000});
  const boost::json::object json = grounding_box_json(boxes[1]);
  CHECK(json.at("label").as_string() == "table");
  CHECK(json.at("box").as_array().size() == 4);
}

TEST_CASE("text cut anywhere gives the same boxes as the whole text", "[http][grounding]") {
  const std::vector<GroundingBox> whole = parse_grounding(kText, 640, 480);
  for (size_t piece = 1; piece <= 9; ++piece) {
    GroundingScanner scanner(640, 480);
    std::vector<GroundingBox> streamed;
    for (size_t at = 0; at < kText.size(); at += piece) {
      const std::vector<GroundingBox> found = scanner.push(std::string_view(kText).substr(at, piece));
      streamed.insert(streamed.end(), found.begin(), found.end());
    }
    REQUIRE(streamed.size() == whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      CHECK(streamed[i].label == whole[i].label);
      CHECK(streamed[i].box == whole[i].box);
    }
  }
}

TEST_CASE("a box appears only once its span has closed", "[http][grounding]") {
  GroundingScanner scanner(999, 999);
  CHECK(scanner.push("<|ref|>a<|/ref|><|det|>[[1,2,3,4]]<|/de").empty());
  const std::vector<GroundingBox> boxes = scanner.push("t|>");
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].box == std::array<int64_t, 4>{1, 2, 3, 4});
}

TEST_CASE("malformed spans give no boxes and do not hide later ones", "[http][grounding]") {
  CHECK(parse_grounding("<|ref|>x<|/ref|> no det <|ref|>y<|/ref|><|det|>[[1,2,3]]<|/det|>", 10, 10).empty());
  CHECK(parse_grounding("<|ref|>y<|/ref|><|det|>[[1,2,3,4],]<|/det|>", 10, 10).empty());
  CHECK(parse_grounding("<|ref|>y<|/ref|><|det|>[[a,2,3,4]]<|/det|>", 10, 10).empty());
  const std::vector<GroundingBox> boxes =
      parse_grounding("<|ref|>x<|/ref|>oops <|ref|>z<|/ref|><|det|>[[0,0,999,999]]<|/det|>", 10, 20);
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].label == "z");
  CHECK(boxes[0].box == std::array<int64_t, 4>{0, 0, 10, 20});
}

TEST_CASE("coordinates beyond 0-999 are clamped to the page", "[http][grounding]") {
  const std::vector<GroundingBox> boxes = parse_grounding("<|ref|>a<|/ref|><|det|>[[-5,0,2000,999]]<|/det|>", 100, 50);
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].box == std::array<int64_t, 4>{0, 0, 100, 50});
}

TEST_CASE("an open span longer than 4096 bytes is given up", "[http][grounding]") {
  GroundingScanner scanner(10, 10);
  CHECK(scanner.push("<|ref|>" + std::string(5000, 'x')).empty());
  const std::vector<GroundingBox> boxes = scanner.push("<|ref|>b<|/ref|><|det|>[[0,0,999,999]]<|/det|>");
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].label == "b");
}
