// The station's outbox sync and HTTPS registration client against the real keyline-registry
// process over mutual TLS on loopback (tests/registry's throwaway PKI, station key in a file
// here; the HSM-backed key is in test_registration_line.cpp), and against a fake back-end that
// answers garbage.
#include "db/outbox_repository.h"
#include "fake_backend.h"
#include "provisioning/record_writer.h"
#include "provisioning/registration_answer.h"
#include "provisioning/registration_sync.h"
#include "registry_fixture.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTemporaryDir>
#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace keyline;
using namespace keyline::provisioning;
using keyline::test::FakeBackend;

namespace {

QByteArray readAll(const QString& path) {
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    return f.readAll();
}

// The station's client with `identity`'s certificate and key from the PKI (empty: none).
std::unique_ptr<HttpsRegistrationClient>
stationClient(const TestPki& pki, const QString& url,
              const QString& identity = QStringLiteral("station"), int timeoutMs = 5000) {
    QByteArray der;
    EVP_PKEY* key = nullptr;
    if (!identity.isEmpty()) {
        der = QSslCertificate::fromPath(pki.cert(identity)).value(0).toDer();
        const QByteArray pem = readAll(pki.key(identity));
        BIO* bio = BIO_new_mem_buf(pem.constData(), int(pem.size()));
        key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        REQUIRE(key);
    }
    auto client = HttpsRegistrationClient::create(url, readAll(pki.rootCa()), der, key, timeoutMs);
    if (!client)
        FAIL(client.error().toString().toStdString());
    return std::move(*client);
}

// A station database of its own with an outbox.
struct Outbox {
    QTemporaryDir dir;
    std::unique_ptr<RecordWriter> writer;

    Outbox() {
        db::DatabaseOptions o;
        o.name = dir.filePath(QStringLiteral("station.db"));
        auto w = RecordWriter::start(o);
        REQUIRE(w.ok());
        writer = std::move(*w);
        // These entries stand alone: no order and device rows behind them (the engine's own
        // tests cover how entries are written together with the certificate).
        auto off = writer->call<void>([](db::Database& db) -> Result<void> {
            KL_TRY(db.exec(QStringLiteral("PRAGMA foreign_keys = OFF")));
            return success();
        });
        REQUIRE(off.ok());
    }
    void enqueue(const QString& deviceId, const QByteArray& payload) {
        auto r = writer->call<db::OutboxEntry>([=](db::Database& db) {
            return db::OutboxRepository(db).enqueue(deviceId, QStringLiteral("register"),
                                                    QString::fromUtf8(payload));
        });
        REQUIRE(r.ok());
    }
    db::OutboxEntry entry(const QString& deviceId) {
        auto r = writer->call<db::OutboxEntry>([=](db::Database& db) -> Result<db::OutboxEntry> {
            KL_TRY_ASSIGN(auto all, db::OutboxRepository(db).due(
                                        QDateTime::currentDateTimeUtc().addYears(10), 1000));
            for (const auto& e : all)
                if (e.deviceId == deviceId)
                    return e;
            KL_TRY_ASSIGN(QSqlQuery q, db.exec(QStringLiteral("SELECT id FROM outbox WHERE "
                                                              "device_id = ?"),
                                               {deviceId}));
            if (!q.next())
                return Error(ErrorCode::NotFound, deviceId);
            return db::OutboxRepository(db).find(q.value(0).toLongLong());
        });
        REQUIRE(r.ok());
        return *r;
    }
};

QStringList registeredIds(const TestPki& pki, const QString& url) {
    const HttpsReply r = HttpsClient{pki, url, QStringLiteral("station")}.get(
        QStringLiteral("/v1/customers/acme/devices"));
    REQUIRE(r.status == 200);
    QStringList ids;
    for (const QJsonValue& d : r.json.value(QStringLiteral("devices")).toArray())
        ids << d.toObject().value(QStringLiteral("deviceId")).toString();
    return ids;
}

quint16 freePort() {
    QTcpServer s;
    REQUIRE(s.listen(QHostAddress::LocalHost, 0));
    return s.serverPort();
}

} // namespace

TEST_CASE("back-off doubles from 2 s, is capped at 10 min and jittered", "[registration]") {
    const SyncOptions o;
    CHECK(retryDelay(0, o, 1.0) == Millis(2000));
    CHECK(retryDelay(1, o, 1.0) == Millis(4000));
    CHECK(retryDelay(5, o, 1.0) == Millis(64000));
    CHECK(retryDelay(9, o, 1.0) == Millis(600000));
    CHECK(retryDelay(500, o, 1.25) == Millis(600000));
    CHECK(retryDelay(0, o, 0.75) == Millis(1500));
    for (int i = 0; i < 100; ++i) {
        const Millis d = retryDelay(3, o);
        CHECK(d >= Millis(12000));
        CHECK(d <= Millis(20000));
    }
}

TEST_CASE("registrations arrive once; a repeat is answered 200 and done", "[registration]") {
    TestPki pki;
    RegistryProcess registry(pki);
    auto client = stationClient(pki, registry.url);
    auto who = client->whoami();
    REQUIRE(who.ok());
    CHECK(who->value(QStringLiteral("role")).toString() == QStringLiteral("station"));

    Outbox outbox;
    outbox.enqueue(QStringLiteral("dev-0001"),
                   pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                    QStringLiteral("acme")));
    outbox.enqueue(QStringLiteral("dev-0002"),
                   pki.registration(QStringLiteral("dev2"), QStringLiteral("dev-0002"),
                                    QStringLiteral("acme")));
    RegistrationSync sync(*outbox.writer, *client);
    auto report = sync.flushNow();
    REQUIRE(report.ok());
    INFO(report->problems.join(QLatin1Char('\n')).toStdString());
    CHECK(report->sent == 2);
    CHECK(report->pending == 0);
    CHECK(outbox.entry(QStringLiteral("dev-0001")).state == db::OutboxState::Done);
    CHECK(registeredIds(pki, registry.url) ==
          QStringList{QStringLiteral("dev-0001"), QStringLiteral("dev-0002")});
    auto again = sync.flushNow();
    REQUIRE(again.ok());
    CHECK(again->sent == 0);

    // A station that lost the answer sends again: 200 with the stored record, done.
    Outbox lostAnswer;
    lostAnswer.enqueue(QStringLiteral("dev-0001"),
                       pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                        QStringLiteral("acme")));
    RegistrationSync retry(*lostAnswer.writer, *client);
    auto retried = retry.flushNow();
    REQUIRE(retried.ok());
    CHECK(retried->sent == 1);
    CHECK(registeredIds(pki, registry.url).size() == 2);
}

TEST_CASE("409 and another customer's 403 fail the entry with the reason", "[registration]") {
    TestPki pki;
    RegistryProcess registry(pki);
    // dev-0001 is already registered with another certificate.
    const HttpsReply first = HttpsClient{pki, registry.url, QStringLiteral("station")}.post(
        QStringLiteral("/v1/customers/acme/devices"),
        pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                         QStringLiteral("acme")));
    REQUIRE(first.status == 201);

    auto client = stationClient(pki, registry.url);
    Outbox outbox;
    outbox.enqueue(QStringLiteral("dev-0001"),
                   pki.registration(QStringLiteral("dev1-other"), QStringLiteral("dev-0001"),
                                    QStringLiteral("acme")));
    outbox.enqueue(QStringLiteral("gx-0001"),
                   pki.registration(QStringLiteral("globex1"), QStringLiteral("gx-0001"),
                                    QStringLiteral("globex")));
    RegistrationSync sync(*outbox.writer, *client);
    auto report = sync.flushNow();
    REQUIRE(report.ok());
    CHECK(report->failed == 2);
    CHECK(report->sent == 0);
    CHECK(report->pending == 0);
    const db::OutboxEntry conflict = outbox.entry(QStringLiteral("dev-0001"));
    CHECK(conflict.state == db::OutboxState::Failed);
    CHECK(conflict.lastError.startsWith(QStringLiteral("HTTP 409 conflict")));
    CHECK(conflict.lastError.contains(QStringLiteral("certificate")));
    const db::OutboxEntry forbidden = outbox.entry(QStringLiteral("gx-0001"));
    CHECK(forbidden.state == db::OutboxState::Failed);
    CHECK(forbidden.lastError.startsWith(QStringLiteral("HTTP 403 forbidden")));
    // Nothing changed in the registry.
    const HttpsReply stored = HttpsClient{pki, registry.url, QStringLiteral("station")}.get(
        QStringLiteral("/v1/customers/acme/devices/dev-0001"));
    CHECK(stored.json.value(QStringLiteral("certificateSha256")) ==
          first.json.value(QStringLiteral("certificateSha256")));
}

TEST_CASE("without a client certificate the registry refuses and the entry is kept",
          "[registration]") {
    TestPki pki;
    RegistryProcess registry(pki);
    auto anonymous = stationClient(pki, registry.url, QString());
    Outbox outbox;
    outbox.enqueue(QStringLiteral("dev-0001"),
                   pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                    QStringLiteral("acme")));
    RegistrationSync sync(*outbox.writer, *anonymous);
    const QDateTime before = QDateTime::currentDateTimeUtc();
    auto report = sync.flushNow();
    REQUIRE(report.ok());
    INFO(report->problems.join(QLatin1Char('\n')).toStdString());
    CHECK(report->sent == 0);
    CHECK(report->retrying == 1);
    CHECK(report->unreachable);
    CHECK(report->pending == 1);
    const db::OutboxEntry e = outbox.entry(QStringLiteral("dev-0001"));
    CHECK(e.state == db::OutboxState::Pending);
    CHECK(e.attempts == 1);
    CHECK_FALSE(e.lastError.isEmpty());
    CHECK(QDateTime::fromString(e.nextAttemptAt, Qt::ISODateWithMs) > before.addMSecs(1000));
    CHECK(registeredIds(pki, registry.url).isEmpty());
    // Due entries only: nothing is due before its back-off.
    auto due = sync.syncDue();
    REQUIRE(due.ok());
    CHECK(due->retrying == 0);
}

TEST_CASE("registry down, then up: every registration arrives exactly once", "[registration]") {
    TestPki pki;
    const quint16 port = freePort();
    const QString url = QStringLiteral("https://127.0.0.1:%1").arg(port);
    auto client = stationClient(pki, url, QStringLiteral("station"), 2000);
    Outbox outbox;
    const QStringList ids{QStringLiteral("dev-0001"), QStringLiteral("dev-0002")};
    outbox.enqueue(ids[0],
                   pki.registration(QStringLiteral("dev1"), ids[0], QStringLiteral("acme")));
    outbox.enqueue(ids[1],
                   pki.registration(QStringLiteral("dev2"), ids[1], QStringLiteral("acme")));
    RegistrationSync sync(*outbox.writer, *client);
    auto down = sync.flushNow();
    REQUIRE(down.ok());
    CHECK(down->unreachable);
    CHECK(down->pending == 2);
    CHECK(down->problems.value(0).contains(QStringLiteral("cannot reach the back-end")));

    RegistryProcess registry(
        pki, {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(port)});
    REQUIRE(registry.url == url);
    auto up = sync.flushNow();
    REQUIRE(up.ok());
    CHECK(up->sent == 2);
    CHECK(up->pending == 0);
    auto again = sync.flushNow();
    REQUIRE(again.ok());
    CHECK(again->sent == 0);
    CHECK(registeredIds(pki, registry.url) == ids);
}

TEST_CASE("malformed, truncated and oversized answers keep the entry with a clear error",
          "[registration]") {
    TestPki pki;
    const QByteArray json = "Content-Type: application/json\r\n";
    const QByteArray big(100 * 1024, 'x');
    const struct {
        const char* name;
        QByteArray answer;
        const char* expected;
    } cases[] = {
        {"not JSON", "HTTP/1.1 201 Created\r\n" + json + "Content-Length: 9\r\n\r\nnot json!",
         "malformed or truncated answer"},
        {"truncated JSON",
         "HTTP/1.1 201 Created\r\n" + json + "Content-Length: 16\r\n\r\n{\"deviceId\": \"de",
         "malformed or truncated answer"},
        {"body shorter than Content-Length",
         "HTTP/1.1 201 Created\r\n" + json +
             "Content-Length: 400\r\n\r\n{\"deviceId\": \"dev-0001\"",
         "truncated answer"},
        {"oversized",
         "HTTP/1.1 201 Created\r\n" + json + "Content-Length: " + QByteArray::number(big.size()) +
             "\r\n\r\n" + big,
         "oversized answer"},
        {"oversized without length", "HTTP/1.1 201 Created\r\n" + json + "\r\n" + big,
         "oversized answer"},
        // Qt's HTTP parser gives no status for bytes that are not HTTP, only the closed
        // connection: kept and retried like a back-end that is not there.
        {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", "Connection closed"},
        {"another device's record",
         "HTTP/1.1 201 Created\r\n" + json +
             "Content-Length: 41\r\n\r\n{\"deviceId\":\"dev-9999\",\"state\":\"created\"}",
         "not the device's record"},
        {"409 without an error body", "HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\nno",
         "malformed answer"},
        {"a 502 from a proxy", "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", "HTTP 502"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            FakeBackend fake(pki.cert(QStringLiteral("server")), pki.key(QStringLiteral("server")),
                             c.answer);
            auto client = stationClient(pki, fake.url, QStringLiteral("station"), 3000);
            Outbox outbox;
            outbox.enqueue(QStringLiteral("dev-0001"),
                           pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                            QStringLiteral("acme")));
            RegistrationSync sync(*outbox.writer, *client);
            auto report = sync.flushNow();
            REQUIRE(report.ok());
            const db::OutboxEntry e = outbox.entry(QStringLiteral("dev-0001"));
            INFO(e.lastError.toStdString());
            CHECK(report->retrying == 1);
            CHECK(report->pending == 1);
            CHECK(e.state == db::OutboxState::Pending);
            CHECK(e.attempts == 1);
            CHECK(e.lastError.contains(QLatin1String(c.expected)));
        }
    }
}

TEST_CASE("a back-end that trickles or never ends its answer: bounded time and memory, entry kept",
          "[registration][bounds]") {
    TestPki pki;
    const QByteArray headers = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n";
    const QByteArray record = "{\"deviceId\":\"dev-0001\",\"state\":\"created\"}";
    const QByteArray chunk = "1000\r\n" + QByteArray(0x1000, 'x') + "\r\n";
    const int timeoutMs = 2000;
    FakeBackend::Behaviour b;
    b.clientCa = pki.rootCa(); // mutual TLS, as the registry: only the answer misbehaves
    const char* expected = "";
    SECTION("headers, one byte a second") {
        b.slowly = headers + "Content-Length: 41\r\n\r\n" + record;
        b.everyMs = 1000;
        expected = "/v1/customers/acme/devices within 2000 ms";
    }
    SECTION("a body, one byte every 100 ms") {
        b.answer = headers + "Content-Length: 41\r\n\r\n";
        b.slowly = record;
        b.everyMs = 100;
        expected = "body not complete after 2000 ms";
    }
    SECTION("a chunked body without end, as fast as it goes") {
        b.answer = headers + "Transfer-Encoding: chunked\r\n\r\n";
        b.forever = chunk;
        b.everyMs = 1;
        expected = "/v1/customers/acme/devices (HTTP 201): more than 65536 bytes";
    }
    SECTION("a chunked body without end, a chunk every 100 ms") {
        b.answer = headers + "Transfer-Encoding: chunked\r\n\r\n";
        b.forever = "1\r\nx\r\n";
        b.everyMs = 100;
        expected = "body not complete after 2000 ms";
    }
    FakeBackend fake(pki.cert(QStringLiteral("server")), pki.key(QStringLiteral("server")), b);
    auto client = stationClient(pki, fake.url, QStringLiteral("station"), timeoutMs);
    Outbox outbox;
    outbox.enqueue(QStringLiteral("dev-0001"),
                   pki.registration(QStringLiteral("dev1"), QStringLiteral("dev-0001"),
                                    QStringLiteral("acme")));
    RegistrationSync sync(*outbox.writer, *client);
    QElapsedTimer timer;
    timer.start();
    auto report = sync.flushNow();
    const qint64 elapsed = timer.elapsed();
    REQUIRE(report.ok());
    const db::OutboxEntry e = outbox.entry(QStringLiteral("dev-0001"));
    INFO(e.lastError.toStdString());
    // The whole exchange is bounded by the client's timeout, not by how long the back-end goes on.
    CHECK(elapsed < timeoutMs + 1500);
    CHECK(e.lastError.contains(QLatin1String(expected)));
    // Nothing recorded is lost: the entry waits for a later sync.
    CHECK(report->retrying == 1);
    CHECK(report->pending == 1);
    CHECK(e.state == db::OutboxState::Pending);
    CHECK(e.attempts == 1);
    // The client read at most its cap and then hung up: the endless back-end sent little more.
    CHECK(fake.bytesSent() < 8 * 1024 * 1024);
}

// The answer's meaning without the network (provisioning/registration_answer.h), on inputs
// fuzz_registry_answer starts from: what the back-end writes must not forge report lines.
TEST_CASE("a back-end's refusal text stays on one line in the outbox's last error",
          "[registration][malformed]") {
    const QString what = QStringLiteral("the registration of dev-0001");
    HttpAnswer a;
    a.status = 409;
    a.contentType = QStringLiteral("application/json");
    a.body =
        R"({"error":"conflict","message":"stored\nkeyline: forged\u2028line","field":"cert\r"})";
    auto refused = registrationOutcome(a, QStringLiteral("dev-0001"), what);
    REQUIRE(refused.ok());
    CHECK(refused->kind == RegistrationOutcome::Kind::Refused);
    CHECK(refused->reason ==
          QStringLiteral("HTTP 409 conflict: stored?keyline: forged?line (field cert?)"));

    a.status = 201;
    a.contentType = QStringLiteral("text/html\n");
    auto html = registrationOutcome(a, QStringLiteral("dev-0001"), what);
    REQUIRE_FALSE(html.ok());
    CHECK(html.error().code() == ErrorCode::BadInput);
    CHECK(html.error().toString() ==
          QStringLiteral("malformed answer to the registration of dev-0001 (HTTP 201): "
                         "Content-Type is 'text/html?', not application/json"));
    a.contentType = QStringLiteral("application/json");
    a.body = R"({"role": 7})";
    a.status = 200;
    auto who = whoamiAnswer(a, QStringLiteral("GET /v1/whoami"));
    REQUIRE_FALSE(who.ok());
    CHECK(who.error().toString() ==
          QStringLiteral("malformed answer to GET /v1/whoami: no \"role\" string"));
}
