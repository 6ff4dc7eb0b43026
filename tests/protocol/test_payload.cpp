#include "flashing/payload.h"

#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::protocol;

TEST_CASE("payload: fields round-trip big-endian", "[payload]") {
    QByteArray bytes = PayloadWriter()
                           .u8(0xAB)
                           .u16(0x1234)
                           .u32(0xDEADBEEF)
                           .u64(0x0102030405060708ULL)
                           .blob("blob")
                           .str(QStringLiteral("Grüße"))
                           .bytes();
    CHECK(bytes.left(7).toHex() == "ab1234deadbeef");
    PayloadReader r(bytes, QStringLiteral("test"));
    CHECK(r.u8("a") == 0xAB);
    CHECK(r.u16("b") == 0x1234);
    CHECK(r.u32("c") == 0xDEADBEEF);
    CHECK(r.u64("d") == 0x0102030405060708ULL);
    CHECK(r.blob("e", 16) == "blob");
    CHECK(r.str("f", 16) == QStringLiteral("Grüße"));
    CHECK(r.finish().ok());
}

TEST_CASE("payload: malformed fields are named in the error", "[payload][malformed]") {
    SECTION("truncated integer") {
        QByteArray b("\x00\x01", 2);
        PayloadReader r(b, QStringLiteral("flash progress"));
        r.u64("offset");
        auto f = r.finish();
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().message().contains(QStringLiteral("'offset'")));
        CHECK(f.error().message().contains(QStringLiteral("truncated")));
    }
    SECTION("blob longer than its limit") {
        QByteArray b = PayloadWriter().blob(QByteArray(100, 'x')).bytes();
        PayloadReader r(b, QStringLiteral("t"));
        CHECK(r.blob("nonce", 64).isEmpty());
        auto f = r.finish();
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().message().contains(QStringLiteral("limit is 64")));
    }
    SECTION("blob length beyond the payload") {
        QByteArray b = PayloadWriter().u32(50).tail("short").bytes();
        PayloadReader r(b, QStringLiteral("t"));
        r.blob("data", 1000);
        CHECK_FALSE(r.finish().ok());
    }
    SECTION("invalid UTF-8") {
        QByteArray b = PayloadWriter().u16(2).tail(QByteArray("\xC3\x28", 2)).bytes();
        PayloadReader r(b, QStringLiteral("t"));
        r.str("subject", 64);
        auto f = r.finish();
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().message().contains(QStringLiteral("UTF-8")));
    }
    SECTION("control characters in a string") {
        QByteArray b = PayloadWriter().str(QStringLiteral("dev\n1")).bytes();
        PayloadReader r(b, QStringLiteral("t"));
        r.str("subject", 64);
        CHECK_FALSE(r.finish().ok());
    }
    SECTION("trailing bytes") {
        QByteArray b = PayloadWriter().u8(1).u8(2).bytes();
        PayloadReader r(b, QStringLiteral("t"));
        r.u8("only");
        auto f = r.finish();
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().message().contains(QStringLiteral("1 unexpected bytes")));
    }
    SECTION("the first failure wins and later reads yield zero") {
        QByteArray b("\x01", 1);
        PayloadReader r(b, QStringLiteral("t"));
        r.u32("first");
        CHECK(r.u8("second") == 0);
        CHECK(r.finish().error().message().contains(QStringLiteral("'first'")));
    }
}
