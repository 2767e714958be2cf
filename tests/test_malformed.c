/* Included by test_dsv3.c. */
static void test_malformed_files(const char *dir) { (void)dir; }
