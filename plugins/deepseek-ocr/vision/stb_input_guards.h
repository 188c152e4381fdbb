// Checks of uploaded bytes for inputs that stb_image 2.27 (Debian 12's
// libstb-dev) mishandles, found by tests/fuzz image_decode; decode_image
// refuses such a file before stb reads it:
// - a JPEG Huffman (DHT) table whose 16 code counts add up to more than 256:
//   stb writes past its 257-entry size list and 256-entry value list
//   (nothings/stb#1289, fixed after 2.27), memory corruption that one
//   uploaded image could cause;
// - a JPEG whose first scan uses a Huffman table no DHT segment defined
//   before it: stb decodes with its uninitialised table memory, and the
//   symbol index it computes runs outside the table's arrays (later scans,
//   which stb reaches at a data-dependent point, are made harmless by
//   image_decode.cpp's zeroed stb allocations);
// - a PGM/PPM header number (width, height, maximum value) of more than 9
//   digits: stb accumulates it in an int without a bound (signed overflow,
//   undefined behaviour);
// - a PNG whose first IDAT chunk is empty: stb copies 0 bytes to a null
//   buffer (undefined behaviour); no encoder writes one;
// - a PNG chunk that runs past the end of the data: stb sizes its buffer
//   for an IDAT chunk's declared length before reading it (a 100-byte file
//   declaring a 2 GiB chunk allocated 2 GiB).
//
// Called by image_decode.cpp and the tests. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace citadel::deepseek_ocr {

// For JPEG bytes (SOI first, after any fill bytes 0xFF, as stb_image tests
// for a JPEG): a description of the first of those Huffman problems ("DHT
// table at byte 180 (AC table 1) declares 4080 codes; at most 256", "the
// scan at byte 620 uses AC table 3, which no DHT segment before it
// defines"), or std::nullopt. The segments up to the first scan are walked
// as stb_image walks them (APPn and COM skipped by their length, DHT and DQT
// read by their contents); after it, where stb resumes depends on the
// entropy-coded data, so every FF C4 byte pair is read as a DHT segment (a
// superset, since markers cannot appear inside entropy-coded data). Bytes
// past the end read as 0, as stb's do.
std::optional<std::string> jpeg_huffman_problem(std::span<const uint8_t> bytes);

// For binary PGM/PPM bytes ("P5"/"P6"): the name of the first header
// number (width, height, maximum value) with more than 9 digits, read as
// stb reads the header (whitespace and '#' comments between them), or
// std::nullopt.
std::optional<std::string> oversized_pnm_header_number(std::span<const uint8_t> bytes);

// For PNG bytes: a description of the first of those chunk problems, the
// chunks walked by their lengths from the signature up to IEND; not a PNG,
// or no problem: std::nullopt.
std::optional<std::string> png_chunk_problem(std::span<const uint8_t> bytes);

}  // namespace citadel::deepseek_ocr
