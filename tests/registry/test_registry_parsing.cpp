// The registry's parsers without a server: the station ACL file and the registration body.
#include "sim/registry/registration_request.h"
#include "sim/registry/station_acl.h"
#include "test_pki.h"

#include <catch2/catch.hpp>

using namespace keyline::registry;

TEST_CASE("station ACL: lines and comments and refusals naming the line", "[registry][acl]") {
    auto acl = StationAcl::parse("# stations of line 3\n"
                                 "station-01: acme, globex\n"
                                 "\n"
                                 "  station-02 :acme  \n"
                                 "station-03:\n");
    REQUIRE(acl.ok());
    CHECK(acl->allows(QStringLiteral("station-01"), QStringLiteral("globex")));
    CHECK(acl->allows(QStringLiteral("station-02"), QStringLiteral("acme")));
    CHECK_FALSE(acl->allows(QStringLiteral("station-02"), QStringLiteral("globex")));
    CHECK_FALSE(acl->allows(QStringLiteral("station-03"), QStringLiteral("acme")));
    CHECK_FALSE(acl->allows(QStringLiteral("station-09"), QStringLiteral("acme")));
    CHECK(acl->customersOf(QStringLiteral("station-01")) ==
          QStringList{QStringLiteral("acme"), QStringLiteral("globex")});

    for (const char* bad : {"station-01 acme", "station 01: acme", "station-01: acme,,globex",
                            "station-01: acme\nstation-01: globex", "station-01: ac me"}) {
        auto refused = StationAcl::parse(bad);
        INFO(bad);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message().startsWith(QStringLiteral("line ")));
    }
}

TEST_CASE("registration body: what the station sends parses and each field is checked",
          "[registry][input]") {
    TestPki pki;
    auto ca = CertificateVerifier::fromPemFile(pki.deviceCa());
    REQUIRE(ca.ok());
    const QByteArray body = pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                             QStringLiteral("acme"), QStringLiteral("A0B1"));
    auto parsed = parseRegistration(body, QStringLiteral("acme"), *ca);
    REQUIRE(std::holds_alternative<RegistrationRequest>(parsed));
    const auto& request = std::get<RegistrationRequest>(parsed);
    CHECK(request.chipUid == QLatin1String("a0b1"));
    CHECK(request.certificate.commonName == QLatin1String("dev-0001"));
    CHECK(request.certificate.p256);

    auto wrongPath = parseRegistration(body, QStringLiteral("globex"), *ca);
    REQUIRE(std::holds_alternative<ApiError>(wrongPath));
    CHECK(std::get<ApiError>(wrongPath).field == QLatin1String("customerId"));
    auto huge = parseRegistration(QByteArray(kMaxBodyBytes + 1, ' '), QStringLiteral("acme"), *ca);
    CHECK(std::get<ApiError>(huge).status == 413);

    // Without the issuing CA in the trust file the leaf does not chain.
    auto rootOnly = CertificateVerifier::fromPemFile(pki.rootCa());
    REQUIRE(rootOnly.ok());
    auto unchained = parseRegistration(body, QStringLiteral("acme"), *rootOnly);
    REQUIRE(std::holds_alternative<ApiError>(unchained));
    CHECK(std::get<ApiError>(unchained).field == QLatin1String("certificate"));
}
