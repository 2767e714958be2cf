/* The program of one of the tests in test_internal.c: TEST_MAIN names its
 * main, e.g. cc -DTEST_MAIN=test_kernels_main test_main.c test_internal.o */
int TEST_MAIN(int argc, char **argv);

int main(int argc, char **argv) { return TEST_MAIN(argc, argv); }
