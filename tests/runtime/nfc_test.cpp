// Tests of runtime/text/nfc against known NFC results (the tokenizer vectors
// check it further against HF's qwen2-style tokenizer).
#include <catch2/catch.hpp>

#include "runtime/text/nfc.h"

using citadel::runtime::nfc_normalize;

TEST_CASE("NFC composes, reorders marks, handles Hangul, singletons and exclusions", "[runtime]") {
  CHECK(nfc_normalize("plain ascii") == "plain ascii");
  CHECK(nfc_normalize("e\xcc\x81") == "\xc3\xa9");                      // e + U+0301 -> é
  CHECK(nfc_normalize("a\xcc\x82\xcc\xa3") == "\xe1\xba\xad");          // a + U+0302 + U+0323 -> ậ (reordered)
  CHECK(nfc_normalize("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8") == "\xea\xb0\x81");  // L V T -> 각
  CHECK(nfc_normalize("\xe2\x84\xab") == "\xc3\x85");                   // U+212B ANGSTROM -> Å
  CHECK(nfc_normalize("\xe0\xa5\x98") == "\xe0\xa4\x95\xe0\xa4\xbc");   // U+0958 stays decomposed
  CHECK(nfc_normalize("\xcc\x81x") == "\xcc\x81x");                     // a leading mark has nothing to join
  CHECK(nfc_normalize("e\xff\xcc\x81") == "e\xff\xcc\x81");             // an invalid byte blocks and survives
  CHECK(nfc_normalize("\xc3\xa9t\xc3\xa9") == "\xc3\xa9t\xc3\xa9");     // already NFC
}

TEST_CASE("NFKC maps compatibility characters, then composes", "[runtime]") {
  using citadel::runtime::nfkc_normalize;
  CHECK(nfkc_normalize("plain ascii") == "plain ascii");
  CHECK(nfkc_normalize("\xef\xac\x81") == "fi");                   // U+FB01 ligature
  CHECK(nfkc_normalize("\xe2\x91\xa0\xc2\xb2") == "12");           // circled 1, superscript 2
  CHECK(nfkc_normalize("\xef\xbc\xa1\xcc\x81") == "\xc3\x81");     // fullwidth A + acute -> Á
  CHECK(nfkc_normalize("\xe2\x84\xab") == "\xc3\x85");             // Angstrom sign -> Å
  CHECK(nfkc_normalize("\xe3\x8d\xbf") == "\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe");  // ㍿
  CHECK(nfkc_normalize("\xea\xb0\x80\xff") == "\xea\xb0\x80\xff");  // Hangul kept, invalid byte kept
  // NFC leaves the compatibility characters alone.
  CHECK(citadel::runtime::nfc_normalize("\xef\xac\x81") == "\xef\xac\x81");
}
