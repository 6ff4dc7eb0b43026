#include "flashing/frame.h"

#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::protocol;

namespace {

Frame sampleFrame() {
    Frame f;
    f.flags = FlagResponse;
    f.command = 0x0041;
    f.sequence = 0x01020304;
    f.payload = QByteArrayLiteral("hello, wearable");
    return f;
}

FrameFault faultOf(const Result<Frame>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::ProtocolViolation);
    return static_cast<FrameFault>(r.error().detail());
}

} // namespace

TEST_CASE("frame: golden encoding matches the spec byte for byte", "[frame]") {
    Frame f;
    f.command = 0x0001; // identify
    f.sequence = 7;
    QByteArray wire = encodeFrame(f);
    // magic "KLWP", version 1, flags 0, command 0x0001, sequence 7, length 0, then the CRC-32
    // computed independently with a bitwise Python CRC-32C (poly 0x82F63B78, check value of
    // "123456789" = 0xE3069283)
    CHECK(wire.toHex() == QByteArrayLiteral("4b4c57500100000100000007000000006a7bbaa5"));
}

TEST_CASE("frame: encode then decode gives the same frame", "[frame]") {
    Frame f = sampleFrame();
    auto decoded = decodeFrame(encodeFrame(f));
    REQUIRE(decoded.ok());
    CHECK(decoded->flags == f.flags);
    CHECK(decoded->command == f.command);
    CHECK(decoded->sequence == f.sequence);
    CHECK(decoded->payload == f.payload);
}

TEST_CASE("frame: the largest payload round-trips", "[frame]") {
    Frame f = sampleFrame();
    f.payload = QByteArray(kMaxPayload, 'x');
    auto decoded = decodeFrame(encodeFrame(f));
    REQUIRE(decoded.ok());
    CHECK(decoded->payload.size() == kMaxPayload);
}

TEST_CASE("frame: every malformed class is refused with its own fault", "[frame][malformed]") {
    const QByteArray good = encodeFrame(sampleFrame());

    SECTION("short: fewer bytes than a header") {
        CHECK(faultOf(decodeFrame(good.left(10))) == FrameFault::Truncated);
        CHECK(faultOf(decodeFrame(QByteArray())) == FrameFault::Truncated);
    }
    SECTION("truncated payload") {
        CHECK(faultOf(decodeFrame(good.left(good.size() - 1))) == FrameFault::Truncated);
    }
    SECTION("bad magic") {
        QByteArray b = good;
        b[0] = 'X';
        auto r = decodeFrame(b);
        CHECK(faultOf(r) == FrameFault::BadMagic);
        CHECK(r.error().message().contains(QStringLiteral("magic")));
    }
    SECTION("bad version") {
        QByteArray b = good;
        b[4] = 2;
        auto r = decodeFrame(b);
        CHECK(faultOf(r) == FrameFault::BadVersion);
        CHECK(r.error().message().contains(QStringLiteral("version 2")));
    }
    SECTION("reserved flag bits") {
        QByteArray b = good;
        b[5] = char(0x81);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::BadFlags);
    }
    SECTION("error flag without response flag") {
        QByteArray b = good;
        b[5] = char(FlagError);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::BadFlags);
    }
    SECTION("oversized length") {
        QByteArray b = good;
        b[12] = 0x7f; // ~2 GB announced
        auto r = decodeFrame(b);
        CHECK(faultOf(r) == FrameFault::Oversized);
        CHECK(r.error().message().contains(QString::number(kMaxPayload)));
    }
    SECTION("length one past the limit") {
        QByteArray b = good;
        quint32 len = kMaxPayload + 1;
        b[12] = char(len >> 24);
        b[13] = char(len >> 16);
        b[14] = char(len >> 8);
        b[15] = char(len);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::Oversized);
    }
    SECTION("bad check: one flipped payload bit") {
        QByteArray b = good;
        b[kHeaderSize + 3] = char(b[kHeaderSize + 3] ^ 0x01);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::BadCheck);
    }
    SECTION("bad check: flipped header sequence") {
        QByteArray b = good;
        b[9] = char(b[9] ^ 0x40);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::BadCheck);
    }
    SECTION("bad check: damaged trailer") {
        QByteArray b = good;
        b[b.size() - 1] = char(b[b.size() - 1] ^ 0xff);
        CHECK(faultOf(decodeFrame(b)) == FrameFault::BadCheck);
    }
    SECTION("trailing bytes after the frame") {
        CHECK(faultOf(decodeFrame(good + "x")) == FrameFault::TrailingBytes);
    }
}
