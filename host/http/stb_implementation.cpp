// The stb image-header reader and PNG writer, compiled into the host from
// Debian's libstb-dev headers: the binaries then need no libstb.so where
// they run (the GPU machine has none). Used by image_header.cpp and
// pdf_document.cpp; only memory functions (no stdio).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image.h>
#include <stb_image_write.h>
