#include "flashing/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keyline::protocol {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78;

constexpr std::array<std::uint32_t, 256> makeTable() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto kTable = makeTable();

// The register (no pre/post inversion) advanced over `data`, one byte at a time: the portable
// path, and the reference the hardware path is tested against.
std::uint32_t advanceBytes(std::uint32_t state, const unsigned char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i)
        state = kTable[(state ^ data[i]) & 0xFF] ^ (state >> 8);
    return state;
}

// a * b modulo the polynomial, in the reflected bit order the register uses.
std::uint32_t multiplyModP(std::uint32_t a, std::uint32_t b) {
    std::uint32_t product = 0;
    for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
        if (a & m)
            product ^= b;
        b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;
    }
    return product;
}

// x^(8 * bytes) modulo the polynomial: multiplying a register by it appends `bytes` zero bytes.
std::uint32_t shiftOperator(std::size_t bytes) {
    std::uint32_t result = 1u << 31; // x^0
    std::uint32_t square = 1u << 30; // x^1
    for (std::size_t bits = bytes * 8; bits != 0; bits >>= 1) {
        if (bits & 1)
            result = multiplyModP(result, square);
        square = multiplyModP(square, square);
    }
    return result;
}

#if defined(__x86_64__)
constexpr std::size_t kLane = 8192;

__attribute__((target("sse4.2"))) std::uint32_t
advanceHardware(std::uint32_t state, const unsigned char* data, std::size_t size) {
    // Three independent lanes keep the CRC unit's three-cycle latency busy; their registers are
    // joined by shifting the earlier lanes over the later ones' length.
    static const std::uint32_t shiftOneLane = shiftOperator(kLane);
    while (size >= 3 * kLane) {
        std::uint64_t a = state, b = 0, c = 0;
        for (std::size_t i = 0; i < kLane; i += 8) {
            std::uint64_t x, y, z;
            memcpy(&x, data + i, 8);
            memcpy(&y, data + kLane + i, 8);
            memcpy(&z, data + 2 * kLane + i, 8);
            a = _mm_crc32_u64(a, x);
            b = _mm_crc32_u64(b, y);
            c = _mm_crc32_u64(c, z);
        }
        std::uint32_t ab = multiplyModP(shiftOneLane, std::uint32_t(a)) ^ std::uint32_t(b);
        state = multiplyModP(shiftOneLane, ab) ^ std::uint32_t(c);
        data += 3 * kLane;
        size -= 3 * kLane;
    }
    std::uint64_t s = state;
    for (; size >= 8; size -= 8, data += 8) {
        std::uint64_t x;
        memcpy(&x, data, 8);
        s = _mm_crc32_u64(s, x);
    }
    state = std::uint32_t(s);
    for (; size > 0; --size, ++data)
        state = _mm_crc32_u8(state, *data);
    return state;
}

bool haveHardware() {
    static const bool have = __builtin_cpu_supports("sse4.2");
    return have;
}
#endif

} // namespace

std::uint32_t crc32c(std::uint32_t previous, const char* data, qsizetype size) {
    auto bytes = reinterpret_cast<const unsigned char*>(data);
    std::uint32_t state = ~previous;
#if defined(__x86_64__)
    if (haveHardware())
        return ~advanceHardware(state, bytes, std::size_t(size));
#endif
    return ~advanceBytes(state, bytes, std::size_t(size));
}

std::uint32_t crc32cReference(std::uint32_t previous, const char* data, qsizetype size) {
    return ~advanceBytes(~previous, reinterpret_cast<const unsigned char*>(data),
                         std::size_t(size));
}

} // namespace keyline::protocol
