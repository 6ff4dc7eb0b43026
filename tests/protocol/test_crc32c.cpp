#include "flashing/crc32c.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <catch2/catch.hpp>

using namespace keyline::protocol;

TEST_CASE("crc32c: standard check values", "[crc]") {
    CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(crc32cReference(0, "123456789", 9) == 0xE3069283u);
    CHECK(crc32c(0, nullptr, 0) == 0u);
    const QByteArray zeros(32, '\0');
    CHECK(crc32c(0, zeros.constData(), zeros.size()) == 0x8A9136AAu); // RFC 3720 B.4
}

TEST_CASE("crc32c: the fast path equals the reference for every length and split", "[crc]") {
    QByteArray data(3 * 8192 * 2 + 777, '\0');
    QRandomGenerator rng(42);
    for (auto& c : data)
        c = char(rng.bounded(256));
    for (qsizetype length :
         {qsizetype(0), qsizetype(1), qsizetype(7), qsizetype(8), qsizetype(63),
          qsizetype(3 * 8192 - 1), qsizetype(3 * 8192), qsizetype(3 * 8192 + 9), data.size()}) {
        INFO("length " << length);
        std::uint32_t reference = crc32cReference(0, data.constData(), length);
        CHECK(crc32c(0, data.constData(), length) == reference);
        // Continuing over two pieces gives the check of the whole.
        qsizetype half = length / 3;
        CHECK(crc32c(crc32c(0, data.constData(), half), data.constData() + half, length - half) ==
              reference);
    }
}

TEST_CASE("crc32c: every single-bit flip changes the check", "[crc]") {
    QByteArray data(40000, 'k');
    const std::uint32_t good = crc32c(0, data.constData(), data.size());
    for (qsizetype bit = 0; bit < data.size() * 8; bit += 997) {
        QByteArray flipped = data;
        flipped[bit / 8] = char(flipped[bit / 8] ^ (1 << (bit % 8)));
        CHECK(crc32c(0, flipped.constData(), flipped.size()) != good);
    }
}
