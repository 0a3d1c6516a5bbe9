/* IDX reader (src/core/idx.h): small files generated here with zlib (gzip'd and plain)
 * read back exactly, with and without an item limit; wrong magic, truncated headers and
 * data (plain and inside a gzip stream), zero and overflowing dimensions, trailing data
 * and a missing file are clean errors naming the file. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "aihw/common.h"
#include "core/idx.h"
#include "test_util.h"

static char test_dir[64];
static char path_buf[256];

static const char *test_path(const char *name) {
  if (test_dir[0] == '\0') {
    strcpy(test_dir, "idx_test_XXXXXX"); /* in the working directory (the build tree) */
    if (mkdtemp(test_dir) == NULL) {
      perror("mkdtemp");
      exit(1);
    }
  }
  snprintf(path_buf, sizeof path_buf, "%s/%s", test_dir, name);
  return path_buf;
}

/* Header bytes: magic (rank) and big-endian dimensions. Returns the length. */
static size_t make_header(unsigned char *h, uint32_t magic, const uint32_t *dims, int rank) {
  const uint32_t words[4] = {magic, rank > 0 ? dims[0] : 0, rank > 1 ? dims[1] : 0,
                             rank > 2 ? dims[2] : 0};
  for (int k = 0; k <= rank; ++k)
    for (int b = 0; b < 4; ++b)
      h[4 * k + b] = (unsigned char)(words[k] >> (24 - 8 * b));
  return 4u + 4u * (size_t)rank;
}

/* Writes header + body, gzip'd (gz = 1) or plain; returns the path. */
static const char *write_file(const char *name, int gz, const unsigned char *header,
                              size_t header_len, const unsigned char *body, size_t body_len) {
  const char *path = test_path(name);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    CHECK(f != NULL);
    if (header_len > 0)
      CHECK(gzwrite(f, header, (unsigned)header_len) == (int)header_len);
    if (body_len > 0)
      CHECK(gzwrite(f, body, (unsigned)body_len) == (int)body_len);
    CHECK(gzclose(f) == Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (header_len > 0) /* fwrite's buffer must not be NULL, even for 0 bytes */
      CHECK(fwrite(header, 1, header_len, f) == header_len);
    if (body_len > 0)
      CHECK(fwrite(body, 1, body_len, f) == body_len);
    CHECK(fclose(f) == 0);
  }
  return path;
}

/* 5 images of 3 x 2 bytes: byte k of the body is k * 7 mod 256. */
static const char *write_images(const char *name, int gz, size_t body_len) {
  unsigned char h[16], body[5 * 3 * 2];
  const uint32_t dims[3] = {5, 3, 2};
  size_t hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK3, dims, 3);
  for (size_t k = 0; k < sizeof body; ++k)
    body[k] = (unsigned char)(k * 7u);
  return write_file(name, gz, h, hl, body, body_len);
}

static void images_round_trip_gzip_and_plain(void) {
  for (int gz = 0; gz <= 1; ++gz) {
    const char *path = write_images(gz ? "img.gz" : "img", gz, 30);
    aihw_idx_array a;
    CHECK_OK(aihw_idx_read_u8(path, 3, 0, &a));
    CHECK(a.rank == 3 && a.dims[0] == 5 && a.dims[1] == 3 && a.dims[2] == 2);
    for (int k = 0; k < 30 && a.data != NULL; ++k)
      CHECK(a.data[k] == (unsigned char)(k * 7));
    free(a.data);
  }
}

static void labels_round_trip(void) {
  unsigned char h[8], body[4] = {3, 1, 4, 1};
  const uint32_t dims[1] = {4};
  size_t hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK1, dims, 1);
  const char *path = write_file("labels.gz", 1, h, hl, body, 4);
  aihw_idx_array a;
  CHECK_OK(aihw_idx_read_u8(path, 1, 0, &a));
  CHECK(a.rank == 1 && a.dims[0] == 4);
  CHECK(a.data != NULL && memcmp(a.data, body, 4) == 0);
  free(a.data);
}

static void limit_reads_only_the_first_items(void) {
  const char *path = write_images("img_limit.gz", 1, 30);
  aihw_idx_array a;
  CHECK_OK(aihw_idx_read_u8(path, 3, 2, &a));
  CHECK(a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 2);
  for (int k = 0; k < 12 && a.data != NULL; ++k)
    CHECK(a.data[k] == (unsigned char)(k * 7));
  free(a.data);
  CHECK_OK(aihw_idx_read_u8(path, 3, 99, &a)); /* a limit above n reads all n */
  CHECK(a.dims[0] == 5);
  free(a.data);
}

static void wrong_magic_is_format_error_naming_the_file(void) {
  const char *path = write_images("img_magic.gz", 1, 30);
  aihw_idx_array a;
  CHECK_STATUS(aihw_idx_read_u8(path, 1, 0, &a), AIHW_ERR_FORMAT); /* images as labels */
  CHECK_ERROR_MENTIONS("img_magic.gz");
  CHECK_ERROR_MENTIONS("magic 0x00000803");
  CHECK(a.data == NULL);
  unsigned char junk[16] = "not an idx file";
  path = write_file("junk", 0, junk, sizeof junk, NULL, 0);
  CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("magic");
}

static void truncated_data_is_format_error(void) {
  for (int gz = 0; gz <= 1; ++gz) {
    const char *path = write_images(gz ? "img_short.gz" : "img_short", gz, 29);
    aihw_idx_array a;
    CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS("truncated");
    CHECK_ERROR_MENTIONS("img_short");
    CHECK(a.data == NULL);
    /* the first 4 items are complete: a limit of 4 reads them */
    CHECK_OK(aihw_idx_read_u8(path, 3, 4, &a));
    CHECK(a.dims[0] == 4);
    free(a.data);
  }
}

static void truncated_header_is_format_error(void) {
  unsigned char h[16];
  const uint32_t dims[3] = {5, 3, 2};
  make_header(h, AIHW_IDX_MAGIC_U8_RANK3, dims, 3);
  const size_t lengths[3] = {0, 2, 9};
  for (int k = 0; k < 3; ++k) {
    const char *path = write_file("hdr_short", 0, h, lengths[k], NULL, 0);
    aihw_idx_array a;
    CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS("truncated");
  }
}

static void truncated_gzip_stream_is_an_error(void) {
  /* A gzip file cut in the middle of its deflate stream. */
  const char *full = write_images("img_cut.gz", 1, 30);
  FILE *f = fopen(full, "rb");
  unsigned char bytes[256];
  size_t n = f != NULL ? fread(bytes, 1, sizeof bytes, f) : 0;
  if (f != NULL)
    fclose(f);
  CHECK(n > 20);
  const char *path = write_file("img_cut2.gz", 0, bytes, n - 12, NULL, 0);
  aihw_idx_array a;
  aihw_status s = aihw_idx_read_u8(path, 3, 0, &a);
  CHECK(s == AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("img_cut2.gz");
  CHECK(a.data == NULL);
}

static void huge_dimensions_are_refused_without_allocating_them(void) {
  unsigned char h[16];
  /* 2^32-1 cubed overflows 64 bits: refused from the header alone */
  const uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
  size_t hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK3, huge, 3);
  const char *path = write_file("huge.gz", 1, h, hl, NULL, 0);
  aihw_idx_array a;
  CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("overflow");
  /* 2^32-1 items of 28 x 28 (3.4 TB) also exceed the 1 TiB cap */
  const uint32_t many[3] = {0xffffffffu, 28, 28};
  hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK3, many, 3);
  path = write_file("many.gz", 1, h, hl, NULL, 0);
  CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("overflow");
  /* 10^9 items of 28 x 28 (784 GB) pass the cap, but the file holds 100 bytes: the
   * reader allocates as it reads and stops at the end of the data */
  const uint32_t big[3] = {1000000000u, 28, 28};
  unsigned char body[100] = {0};
  hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK3, big, 3);
  path = write_file("big.gz", 1, h, hl, body, sizeof body);
  CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("truncated");
  const uint32_t zero[3] = {5, 0, 2};
  hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK3, zero, 3);
  path = write_file("zero.gz", 1, h, hl, NULL, 0);
  CHECK_STATUS(aihw_idx_read_u8(path, 3, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("dimension 1 is 0");
}

static void trailing_data_is_format_error(void) {
  unsigned char h[8], body[5] = {1, 2, 3, 4, 5};
  const uint32_t dims[1] = {4};
  size_t hl = make_header(h, AIHW_IDX_MAGIC_U8_RANK1, dims, 1);
  const char *path = write_file("labels_long.gz", 1, h, hl, body, 5);
  aihw_idx_array a;
  CHECK_STATUS(aihw_idx_read_u8(path, 1, 0, &a), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("data after");
  CHECK_OK(aihw_idx_read_u8(path, 1, 3, &a)); /* a limit below n does not look further */
  free(a.data);
}

static void missing_file_and_bad_arguments(void) {
  aihw_idx_array a;
  CHECK_STATUS(aihw_idx_read_u8(test_path("no_such_file.gz"), 3, 0, &a), AIHW_ERR_IO);
  CHECK_ERROR_MENTIONS("no_such_file.gz");
  CHECK_STATUS(aihw_idx_read_u8(NULL, 3, 0, &a), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_idx_read_u8("x", 2, 0, &a), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_idx_read_u8("x", 3, 0, NULL), AIHW_ERR_INVALID_ARGUMENT);
}

static void remove_test_files(void) {
  static const char *names[] = {"img.gz",       "img",        "labels.gz",    "img_limit.gz",
                                "img_magic.gz", "junk",       "img_short.gz", "img_short",
                                "hdr_short",    "img_cut.gz", "img_cut2.gz",  "huge.gz",
                                "many.gz",      "big.gz",     "zero.gz",      "labels_long.gz"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    unlink(test_path(names[k]));
  rmdir(test_dir);
}

TEST_MAIN(TEST(images_round_trip_gzip_and_plain), TEST(labels_round_trip),
          TEST(limit_reads_only_the_first_items),
          TEST(wrong_magic_is_format_error_naming_the_file),
          TEST(truncated_data_is_format_error), TEST(truncated_header_is_format_error),
          TEST(truncated_gzip_stream_is_an_error),
          TEST(huge_dimensions_are_refused_without_allocating_them),
          TEST(trailing_data_is_format_error), TEST(missing_file_and_bad_arguments),
          TEST(remove_test_files))
