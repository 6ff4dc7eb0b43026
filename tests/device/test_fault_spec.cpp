#include "sim/simulator.h"

#include <catch2/catch.hpp>

using keyline::ErrorCode;
using keyline::sim::FaultKind;
using keyline::sim::parseFaultSpec;

TEST_CASE("fault specs that parse", "[device][fault-spec]") {
    auto a = parseFaultSpec(QStringLiteral("3:disconnect-at=flash-commit"));
    REQUIRE(a.ok());
    CHECK(a->port == 3);
    CHECK(a->kind == FaultKind::DisconnectAt);
    CHECK(a->argument == QStringLiteral("flash-commit"));

    auto b = parseFaultSpec(QStringLiteral("*:garbage"));
    REQUIRE(b.ok());
    CHECK(b->port == 0);
    CHECK(b->kind == FaultKind::Garbage);
    CHECK(b->argument.isEmpty());

    auto flood = parseFaultSpec(QStringLiteral("2:flood"));
    REQUIRE(flood.ok());
    CHECK(flood->kind == FaultKind::Flood);
    CHECK(keyline::sim::faultSpecText(*flood) == QStringLiteral("2:flood"));

    auto c = parseFaultSpec(QStringLiteral("12:disconnect-after-bytes=4096"));
    REQUIRE(c.ok());
    CHECK(c->kind == FaultKind::DisconnectAfterBytes);
    CHECK(c->argument == QStringLiteral("4096"));

    auto d = parseFaultSpec(QStringLiteral("1:corrupt-chunk=3"));
    REQUIRE(d.ok());
    CHECK(d->kind == FaultKind::CorruptChunk);
    CHECK(keyline::sim::faultSpecText(*d) == QStringLiteral("1:corrupt-chunk=3"));

    for (const char* name :
         {"brownout-at-commit", "counterfeit", "otp-burned-other", "rng-repeat"}) {
        auto spec = parseFaultSpec(QStringLiteral("2:") + QLatin1String(name));
        REQUIRE(spec.ok());
        CHECK(keyline::sim::faultKindName(spec->kind) == QLatin1String(name));
    }
}

TEST_CASE("malformed fault specs are refused with a reason", "[device][fault-spec]") {
    const char* bad[] = {
        "",                  // nothing
        "garbage",           // no port
        "0:garbage",         // ports count from 1
        "x:garbage",         // not a port
        "1:nonsense",        // unknown kind
        "1:garbage=1",       // argument where none is taken
        "1:corrupt-chunk",   // argument missing
        "1:corrupt-chunk=0", // not positive
        "1:disconnect-after-bytes=-5",
        "1:disconnect-at=format-disk", // not a command
        "1:disconnect-at",
    };
    for (const char* text : bad) {
        INFO(text);
        auto spec = parseFaultSpec(QLatin1String(text));
        REQUIRE_FALSE(spec.ok());
        CHECK(spec.error().code() == ErrorCode::InvalidArgument);
        CHECK(spec.error().message().contains(QStringLiteral("PORT:KIND")));
    }
}
