#!/bin/sh
# dsv3 as another project uses it: installed by make and by CMake (each into a
# DESTDIR), then examples/simple.c, copied out of the tree, built against it
#   1. with pkg-config: cc simple.c $(pkg-config --cflags --libs dsv3) (the
#      shared library), and with --static's flags against libdsv3.a;
#   2. with find_package(dsv3 CONFIG) on CMake's install: dsv3::dsv3 static,
#      then shared (BUILD_SHARED_LIBS); a newer minor version is refused;
#   3. with add_subdirectory on a vendored copy (CMakeLists.txt, dsv3.h, dsv3.c,
#      dsv3.pc.in, cmake/), which then builds libdsv3.a and nothing else.
# Each program runs on the shipped model and must print what the Makefile's own
# dsv3-simple prints, byte for byte.
# usage: sh tests/test_packaging.sh (from the repository root)
#   CC, CMAKE, PKG_CONFIG: the tools (cc, cmake, pkg-config); JOBS: parallel jobs
set -u
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
JOBS=${JOBS:-2}
export CC
src=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/dsv3
model="$src/models/dsv3-kjv.gguf"
prompt="And God said"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL test_packaging.sh: $*" >&2; }
# step NAME COMMAND...: runs a build step quietly; on failure, says so with its output's tail
step() {
    name=$1
    shift
    if "$@" >"$tmp/step.log" 2>&1; then ok; return 0; fi
    bad "$name"
    tail -n 25 "$tmp/step.log" >&2
    return 1
}
# same NAME PROGRAM [LD_LIBRARY_PATH]: the program prints what the reference printed
same() {
    if LD_LIBRARY_PATH=${3:-} "$2" "$model" "$prompt" 24 >"$tmp/out" 2>"$tmp/err" &&
       cmp -s "$tmp/out" "$tmp/want.out" && cmp -s "$tmp/err" "$tmp/want.err"; then ok
    else bad "$1: printed '$(cat "$tmp/out" "$tmp/err")'"; fi
}
# linked NAME PROGRAM DIR [LD_LIBRARY_PATH]: loads libdsv3.so from DIR; DIR "-": no libdsv3.so
linked() {
    LD_LIBRARY_PATH=${4:-} ldd "$2" >"$tmp/ldd" 2>&1
    if [ "$3" = - ] && ! grep -q libdsv3 "$tmp/ldd"; then ok
    elif [ "$3" != - ] && grep -q "libdsv3\.so => $3/" "$tmp/ldd"; then ok
    else bad "$1 links $(grep libdsv3 "$tmp/ldd" || echo 'no libdsv3.so')"; fi
}
files() { (cd "$1" && find . -type f | sort); }
mkdir "$tmp/consumer"
cp examples/simple.c "$tmp/consumer/"
version=$(awk '$2 ~ /^DSV3_VERSION_(MAJOR|MINOR|PATCH)$/ { v = v s $3; s = "." } END { print v }' dsv3.h)

# ---- make install, and the reference output -------------------------------
echo "test_packaging: make install"
mstage="$tmp/make-stage"
step "make install" make -j"$JOBS" BUILD="$tmp/build" PREFIX=$prefix DESTDIR="$mstage" install "$tmp/build/dsv3-simple" ||
    exit 1
"$tmp/build/dsv3-simple" "$model" "$prompt" 24 >"$tmp/want.out" 2>"$tmp/want.err"
if grep -q "^$prompt." "$tmp/want.out" && grep -Eq '^24 tokens, stopped by the limit$' "$tmp/want.err"; then ok
else bad "build/dsv3-simple printed '$(cat "$tmp/want.out" "$tmp/want.err")'"; fi
printf '%s\n' ./bin/dsv3 ./bin/dsv3-chat ./bin/dsv3-quantize ./bin/dsv3-server ./include/dsv3.h ./lib/libdsv3.a ./lib/libdsv3.so \
    ./lib/pkgconfig/dsv3.pc >"$tmp/want.files"
files "$mstage$prefix" >"$tmp/make.files"
if cmp -s "$tmp/make.files" "$tmp/want.files"; then ok; else bad "make install wrote $(cat "$tmp/make.files")"; fi
if "$mstage$prefix/bin/dsv3" -m "$model" -p "$prompt" -n 4 >/dev/null 2>&1; then ok; else bad "installed dsv3"; fi

# ---- 1. pkg-config -------------------------------------------------------
echo "test_packaging: pkg-config"
pc() { PKG_CONFIG_LIBDIR="$mstage$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$mstage" "$PKG_CONFIG" "$@"; }
if [ "$(pc --modversion dsv3)" = "$version" ]; then ok; else bad "pkg-config --modversion: $(pc --modversion dsv3)"; fi
flags=$(pc --cflags --libs dsv3 | sed 's/ *$//')
if [ "$flags" = "-I$mstage$prefix/include -L$mstage$prefix/lib -ldsv3" ]; then ok; else bad "pkg-config: $flags"; fi
static=$(pc --static --libs dsv3)
if echo " $static " | grep -q ' -lm ' && echo " $static " | grep -q ' -pthread '; then ok
else bad "pkg-config --static --libs: $static"; fi
# shellcheck disable=SC2086
if step "cc with pkg-config" "$CC" -O2 -Wall -Wextra -Werror "$tmp/consumer/simple.c" $flags -o "$tmp/simple-pc"; then
    same "pkg-config, shared" "$tmp/simple-pc" "$mstage$prefix/lib"
    linked "pkg-config, shared" "$tmp/simple-pc" "$mstage$prefix/lib" "$mstage$prefix/lib"
fi
# --static's flags are what libdsv3.a needs (-l:libdsv3.a picks it over the .so)
# shellcheck disable=SC2046
if step "cc with pkg-config --static" "$CC" -O2 -Wall -Wextra -Werror "$tmp/consumer/simple.c" $(pc --cflags dsv3) \
       $(echo "$static" | sed 's/-ldsv3/-l:libdsv3.a/') -o "$tmp/simple-pc-static"; then
    same "pkg-config, static" "$tmp/simple-pc-static"
    linked "pkg-config, static" "$tmp/simple-pc-static" -
fi

# make uninstall removes what make install wrote, and nothing else
ustage="$tmp/uninstall-stage"
mkdir -p "$ustage$prefix/share" && cp -R "$mstage$prefix/." "$ustage$prefix/" && : >"$ustage$prefix/share/other-package"
if step "make uninstall" make BUILD="$tmp/build" PREFIX=$prefix DESTDIR="$ustage" uninstall; then
    files "$ustage$prefix" >"$tmp/left.files"
    if [ "$(cat "$tmp/left.files")" = ./share/other-package ]; then ok
    else bad "make uninstall left $(cat "$tmp/left.files")"; fi
fi

# ---- CMake's install -----------------------------------------------------
echo "test_packaging: cmake --install"
cstage="$tmp/cmake-stage"
if step "cmake configure" "$CMAKE" -S "$src" -B "$tmp/cmake-build" -DCMAKE_INSTALL_PREFIX=$prefix \
       -DCMAKE_INSTALL_LIBDIR=lib -DDSV3_BUILD_TESTS=OFF -DDSV3_WERROR=ON &&
   step "cmake build" "$CMAKE" --build "$tmp/cmake-build" --parallel "$JOBS" &&
   step "cmake --install" env DESTDIR="$cstage" "$CMAKE" --install "$tmp/cmake-build"; then
    # make's files, and the CMake package besides
    files "$cstage$prefix" >"$tmp/cmake.files"
    printf '%s\n' ./lib/cmake/dsv3/dsv3Config.cmake ./lib/cmake/dsv3/dsv3ConfigVersion.cmake \
        ./lib/cmake/dsv3/dsv3Targets-noconfig.cmake ./lib/cmake/dsv3/dsv3Targets.cmake |
        sort - "$tmp/make.files" >"$tmp/want.files"
    if cmp -s "$tmp/cmake.files" "$tmp/want.files"; then ok; else bad "cmake --install wrote $(cat "$tmp/cmake.files")"; fi
    if cmp -s "$cstage$prefix/lib/pkgconfig/dsv3.pc" "$mstage$prefix/lib/pkgconfig/dsv3.pc"; then ok
    else bad "the dsv3.pc files differ: $(diff "$mstage$prefix/lib/pkgconfig/dsv3.pc" "$cstage$prefix/lib/pkgconfig/dsv3.pc")"; fi
fi

# ---- 2. find_package, 3. add_subdirectory --------------------------------
cat >"$tmp/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.14)
project(dsv3_consumer C)
if(VENDORED)
    add_subdirectory(dsv3)
else()
    find_package(dsv3 ${WANT} CONFIG REQUIRED)
endif()
add_executable(simple simple.c)
target_link_libraries(simple PRIVATE dsv3::dsv3)
EOF
# consumer NAME BUILD_DIR CMAKE_ARGS...: configures and builds the consumer
consumer() {
    name=$1
    dir=$2
    shift 2
    step "$name: configure" "$CMAKE" -S "$tmp/consumer" -B "$dir" -DCMAKE_C_FLAGS=-O2 "$@" &&
        step "$name: build" "$CMAKE" --build "$dir" --parallel "$JOBS"
}
echo "test_packaging: find_package"
if consumer "find_package" "$tmp/fp" -DCMAKE_PREFIX_PATH="$cstage$prefix" -DWANT="$version"; then
    same "find_package, static" "$tmp/fp/simple"
    linked "find_package, static" "$tmp/fp/simple" -
fi
if consumer "find_package, BUILD_SHARED_LIBS" "$tmp/fp-shared" -DCMAKE_PREFIX_PATH="$cstage$prefix" \
       -DBUILD_SHARED_LIBS=ON; then
    same "find_package, shared" "$tmp/fp-shared/simple"
    linked "find_package, shared" "$tmp/fp-shared/simple" "$cstage$prefix/lib"
fi
newer=$(echo "$version" | awk -F. '{ print $1 "." $2 + 1 }')
if "$CMAKE" -S "$tmp/consumer" -B "$tmp/fp-newer" -DCMAKE_PREFIX_PATH="$cstage$prefix" -DWANT="$newer" \
       >"$tmp/step.log" 2>&1; then bad "find_package(dsv3 $newer) found $version"
elif grep -q "dsv3Config.cmake, version: $version" "$tmp/step.log"; then ok
else bad "find_package(dsv3 $newer): $(tail -n 5 "$tmp/step.log")"; fi

echo "test_packaging: add_subdirectory"
mkdir "$tmp/consumer/dsv3"
cp -R CMakeLists.txt dsv3.h dsv3.c dsv3.pc.in cmake LICENSE "$tmp/consumer/dsv3/"
if consumer "add_subdirectory" "$tmp/sub" -DVENDORED=ON; then
    same "add_subdirectory" "$tmp/sub/simple"
    linked "add_subdirectory" "$tmp/sub/simple" -
    # a subproject builds the library it is asked for, and no programs or tests
    (cd "$tmp/sub/dsv3" && find . -name CMakeFiles -prune -o -type f -perm -u+x -print) >"$tmp/extra"
    if [ -f "$tmp/sub/dsv3/libdsv3.a" ] && [ ! -s "$tmp/extra" ]; then ok
    else bad "add_subdirectory built $(ls "$tmp/sub/dsv3")"; fi
fi

echo "test_packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
