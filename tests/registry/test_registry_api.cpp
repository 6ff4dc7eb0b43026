// The registry's API over real mutual TLS with a Qt client: registration (201/200/409),
// multi-tenant authorisation (403), strict request checks (400/413/415) and device bootstrap.
#include "registry_fixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <catch2/catch.hpp>

namespace {

const QString kAcme = QStringLiteral("/v1/customers/acme/devices");

struct Fixture {
    TestPki pki;
    RegistryProcess registry{pki};

    HttpsClient as(const QString& identity) const { return {pki, registry.url, identity}; }
    HttpsClient station() const { return as(QStringLiteral("station")); }
};

} // namespace

TEST_CASE("registration: new 201 then the same again 200 and another certificate 409",
          "[registry][mtls]") {
    Fixture f;
    const QByteArray body = f.pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                               QStringLiteral("acme"));
    const HttpsReply created = f.station().post(kAcme, body);
    INFO(created.body.toStdString());
    REQUIRE(created.status == 201);
    CHECK(created.json.value(QStringLiteral("state")).toString() == QLatin1String("created"));
    CHECK(created.json.value(QStringLiteral("registeredBy")).toString() ==
          QLatin1String("station-01"));
    CHECK(created.json.value(QStringLiteral("certificateSha256")).toString().size() == 64);

    const HttpsReply again = f.station().post(kAcme, body);
    CHECK(again.status == 200);
    CHECK(again.json.value(QStringLiteral("createdAt")) ==
          created.json.value(QStringLiteral("createdAt")));

    const HttpsReply other = f.station().post(
        kAcme, f.pki.registration(QStringLiteral("dev1-other"), QStringLiteral("dev-0001"),
                                  QStringLiteral("acme")));
    CHECK(other.status == 409);
    CHECK(other.json.value(QStringLiteral("error")).toString() == QLatin1String("conflict"));
    CHECK(other.json.value(QStringLiteral("field")).toString() == QLatin1String("certificate"));

    const HttpsReply otherChip = f.station().post(
        kAcme, f.pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                  QStringLiteral("acme"), QStringLiteral("ffff")));
    CHECK(otherChip.status == 409);
}

TEST_CASE("read and list by customer", "[registry][mtls]") {
    Fixture f;
    for (const auto& [name, id] : {std::pair{"dev2", "dev-0002"}, std::pair{"dev1", "dev-0001"}})
        REQUIRE(
            f.station()
                .post(kAcme, f.pki.registration(QString::fromLatin1(name), QString::fromLatin1(id),
                                                QStringLiteral("acme")))
                .status == 201);
    const HttpsReply read = f.station().get(kAcme + QStringLiteral("/dev-0002"));
    CHECK(read.status == 200);
    CHECK(read.json.value(QStringLiteral("deviceId")).toString() == QLatin1String("dev-0002"));
    CHECK(read.json.value(QStringLiteral("certificate")).toString().toLatin1() ==
          f.pki.leafPem(QStringLiteral("dev2")));

    const HttpsReply list = f.station().get(kAcme);
    REQUIRE(list.status == 200);
    const QJsonArray devices = list.json.value(QStringLiteral("devices")).toArray();
    REQUIRE(devices.size() == 2);
    CHECK(devices[0].toObject().value(QStringLiteral("deviceId")).toString() ==
          QLatin1String("dev-0001")); // ordered by device ID
    CHECK(f.station()
              .get(kAcme + QStringLiteral("?state=bootstrapped"))
              .json.value(QStringLiteral("count")) == 0);
    CHECK(f.station().get(kAcme + QStringLiteral("?state=nonsense")).status == 400);
    CHECK(f.station().get(kAcme + QStringLiteral("/dev-9999")).status == 404);
    CHECK(f.station().get(QStringLiteral("/v1/nothing")).status == 404);
    CHECK(f.station().post(kAcme + QStringLiteral("/dev-0001"), "{}").status == 405);
}

TEST_CASE("a station may only use the paths of its customers and devices may not register",
          "[registry][mtls][auth]") {
    Fixture f;
    const QString globex = QStringLiteral("/v1/customers/globex/devices");
    const HttpsReply refused = f.station().post(
        globex, f.pki.registration(QStringLiteral("globex1"), QStringLiteral("gx-0001"),
                                   QStringLiteral("globex")));
    CHECK(refused.status == 403);
    CHECK(refused.json.value(QStringLiteral("error")).toString() == QLatin1String("forbidden"));
    CHECK(f.station().get(globex).status == 403);
    CHECK(f.station().get(globex + QStringLiteral("/gx-0001")).status == 403);

    // A body naming another customer than the path: the path decides authorisation, the
    // mismatch is a bad request.
    const HttpsReply mismatch = f.station().post(
        kAcme, f.pki.registration(QStringLiteral("globex1"), QStringLiteral("gx-0001"),
                                  QStringLiteral("globex")));
    CHECK(mismatch.status == 400);
    CHECK(mismatch.json.value(QStringLiteral("field")).toString() == QLatin1String("customerId"));

    const HttpsReply byDevice =
        f.as(QStringLiteral("dev1"))
            .post(kAcme, f.pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                            QStringLiteral("acme")));
    CHECK(byDevice.status == 403);
    CHECK(f.as(QStringLiteral("dev1")).get(kAcme).status == 403);
    // A certificate from a CA the registry was not given (here the station CA without
    // --station-ca) does not even get a TLS session.
    CHECK(f.as(QStringLiteral("station2")).get(kAcme).status == 0);
}

TEST_CASE("malformed truncated and oversized bodies: 400 naming the field or 413 or 415",
          "[registry][mtls][input]") {
    Fixture f;
    const QByteArray good = f.pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                               QStringLiteral("acme"));
    auto fieldOf = [&](const QByteArray& body) {
        const HttpsReply r = f.station().post(kAcme, body);
        CHECK(r.status == 400);
        return r.json.value(QStringLiteral("field")).toString().toStdString();
    };
    auto edited = [&](const char* field, const QJsonValue& value) {
        QJsonObject o = QJsonDocument::fromJson(good).object();
        if (value.isUndefined())
            o.remove(QString::fromLatin1(field));
        else
            o.insert(QString::fromLatin1(field), value);
        return QJsonDocument(o).toJson();
    };
    const HttpsReply truncated = f.station().post(kAcme, good.left(good.size() / 2));
    CHECK(truncated.status == 400);
    CHECK(truncated.json.value(QStringLiteral("error")).toString() == QLatin1String("bad-json"));
    CHECK(f.station().post(kAcme, "[1,2]").status == 400);
    CHECK(fieldOf(edited("deviceId", QJsonValue::Undefined)) == "deviceId");
    CHECK(fieldOf(edited("deviceId", 42)) == "deviceId");
    CHECK(fieldOf(edited("deviceId", QStringLiteral("dev 0001"))) == "deviceId");
    CHECK(fieldOf(edited("environment", QStringLiteral("staging"))) == "environment");
    CHECK(fieldOf(edited("chipUid", QStringLiteral("xyz"))) == "chipUid");
    CHECK(fieldOf(edited("state", QStringLiteral("bootstrapped"))) == "state");
    CHECK(fieldOf(edited("extra", true)) == "extra");
    CHECK(fieldOf(edited("certificate", QStringLiteral("not a pem"))) == "certificate");
    // CN is not the deviceId; the right CN but OU=dev while the body says prod.
    CHECK(fieldOf(edited("deviceId", QStringLiteral("dev-0002"))) == "certificate");
    CHECK(fieldOf(edited("environment", QStringLiteral("prod"))) == "certificate");
    // A certificate that does not chain to the device root: the station's own.
    CHECK(fieldOf(edited("certificate", QString::fromLatin1(f.pki.leafPem(
                                            QStringLiteral("station2"))))) == "certificate");

    const HttpsReply large = f.station().post(kAcme, QByteArray(17 * 1024, ' ') + good);
    CHECK(large.status == 413);
    CHECK(large.json.value(QStringLiteral("error")).toString() == QLatin1String("body-too-large"));
    CHECK(f.station().post(kAcme, good, "application/x-www-form-urlencoded").status == 415);
    // Far beyond the limit the connection is cut rather than buffered; the server lives on.
    CHECK(f.station().post(kAcme, QByteArray(1024 * 1024, 'x')).status != 201);
    CHECK(f.station().post(kAcme, good).status == 201);
}

TEST_CASE("bootstrap: the device itself moves created to bootstrapped and gets its "
          "configuration",
          "[registry][mtls][bootstrap]") {
    Fixture f;
    const QString boot = kAcme + QStringLiteral("/dev-0001/bootstrap");
    CHECK(f.as(QStringLiteral("dev1")).post(boot, {}).status == 404); // not registered yet
    REQUIRE(f.station()
                .post(kAcme, f.pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                                QStringLiteral("acme")))
                .status == 201);
    REQUIRE(f.station()
                .post(kAcme, f.pki.registration(QStringLiteral("dev2"), QStringLiteral("dev-0002"),
                                                QStringLiteral("acme")))
                .status == 201);

    // Another device, a station, and the same device ID with another certificate: refused.
    CHECK(f.as(QStringLiteral("dev2")).post(boot, {}).status == 403);
    CHECK(f.station().post(boot, {}).status == 403);
    CHECK(f.as(QStringLiteral("dev1-other")).post(boot, {}).status == 403);
    CHECK(f.as(QStringLiteral("globex1"))
              .post(QStringLiteral("/v1/customers/acme/devices/gx-0001/bootstrap"), {})
              .status == 403);
    CHECK(
        f.station().get(kAcme + QStringLiteral("/dev-0001")).json.value(QStringLiteral("state")) ==
        QStringLiteral("created"));

    const HttpsReply booted = f.as(QStringLiteral("dev1")).post(boot, {});
    INFO(booted.body.toStdString());
    REQUIRE(booted.status == 200);
    const QJsonObject config = booted.json.value(QStringLiteral("configuration")).toObject();
    CHECK(config.value(QStringLiteral("customerId")).toString() == QLatin1String("acme"));
    CHECK(config.value(QStringLiteral("deviceId")).toString() == QLatin1String("dev-0001"));
    CHECK(config.value(QStringLiteral("telemetryIntervalSeconds")).toInt() > 0);
    CHECK(config.value(QStringLiteral("deviceUrl")).toString().startsWith(f.registry.url));
    CHECK(booted.json.value(QStringLiteral("device")).toObject().value(QStringLiteral("state")) ==
          QStringLiteral("bootstrapped"));

    const HttpsReply record = f.station().get(kAcme + QStringLiteral("/dev-0001"));
    CHECK(record.json.value(QStringLiteral("state")) == QStringLiteral("bootstrapped"));
    CHECK(record.json.contains(QStringLiteral("bootstrappedAt")));
    CHECK(f.as(QStringLiteral("dev1")).post(boot, {}).status == 200); // idempotent
    // A device reads itself, not its neighbour.
    CHECK(f.as(QStringLiteral("dev1")).get(kAcme + QStringLiteral("/dev-0001")).status == 200);
    CHECK(f.as(QStringLiteral("dev1")).get(kAcme + QStringLiteral("/dev-0002")).status == 403);
    CHECK(f.station()
              .get(kAcme + QStringLiteral("?state=bootstrapped"))
              .json.value(QStringLiteral("count")) == 1);
}
