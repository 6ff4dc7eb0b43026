// `keyline audit export|verify` in-process against the development token: a signed export that
// verifies with keyline and with plain OpenSSL, tampered copies that FAIL naming the line, a
// broken database chain that is never exported, and the exit codes of DESIGN §3.

#include "cli_fixture.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "station/config.h"
#include "station/station_context.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <functional>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

using keyline::test::ScopedEnv;

namespace {

const QByteArray kAlicePin = "alice-Pin-4821";

std::unique_ptr<db::Database> openStationDb(const StationFixture& st, QString* stationId) {
    auto config = station::loadConfig(st.config);
    REQUIRE(config.ok());
    *stationId = config->stationName;
    auto database = station::StationContext(*config).openDatabase();
    REQUIRE(database.ok());
    return std::move(*database);
}

// alice bootstrapped through the CLI (audited), then order entries through the db library:
// PO-17 three times, PO-18 once, interleaved so the per-order chain skips entries.
void makeAuditLog(const StationFixture& st) {
    {
        const ScopedEnv pin("KEYLINE_NEW_OPERATOR_PIN", kAlicePin);
        const CliRun r =
            st.run({QStringLiteral("operator"), QStringLiteral("add"), QStringLiteral("alice"),
                    QStringLiteral("--role"), QStringLiteral("supervisor")});
        INFO(r.all().toStdString());
        REQUIRE(r.code == 0);
    }
    QString stationId;
    auto db = openStationDb(st, &stationId);
    db::AuditLog log(*db, stationId);
    const std::pair<const char*, const char*> events[] = {{"PO-17", "order.created"},
                                                          {"PO-18", "order.created"},
                                                          {"PO-17", "certificate.issued"},
                                                          {"PO-17", "order.closed"}};
    for (const auto& [order, event] : events)
        REQUIRE(log.append({QStringLiteral("alice"), QLatin1String(order), QLatin1String(event),
                            QJsonObject{{QStringLiteral("note"), QStringLiteral("a, \"quoted\"")}}})
                    .ok());
}

QStringList exportArgs(const QString& scope, const QString& out, const QString& format) {
    QStringList a{QStringLiteral("audit"), QStringLiteral("export")};
    if (scope.isEmpty())
        a << QStringLiteral("--all");
    else
        a << QStringLiteral("--order") << scope;
    return a << QStringLiteral("--format") << format << QStringLiteral("-o") << out;
}

CliRun verify(const StationFixture& st, const QString& file, bool json = false) {
    QStringList a{QStringLiteral("audit"), QStringLiteral("verify"), file};
    if (json)
        a << QStringLiteral("--json");
    return st.run(a);
}

// A copy of the export with its signature, the records changed by `edit`.
QString tamperedCopy(const StationFixture& st, const QString& name, const QString& copyName,
                     const std::function<void(QList<QByteArray>&)>& edit) {
    QList<QByteArray> lines = st.readFile(name).split('\n');
    edit(lines);
    st.writeFile(copyName + QStringLiteral(".p7s"), st.readFile(name + QStringLiteral(".p7s")));
    return st.writeFile(copyName, lines.join('\n'));
}

} // namespace

TEST_CASE("audit export of an order verifies with keyline and with plain openssl", "[cli][audit]") {
    StationFixture st;
    st.initDev();
    makeAuditLog(st);
    const QString format = GENERATE(QStringLiteral("jsonl"), QStringLiteral("csv"));
    const QString out = st.path(QStringLiteral("audit-PO-17.") + format);
    CliRun r = st.run(exportArgs(QStringLiteral("PO-17"), out, format));
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("exported 3 audit records (order PO-17")));
    CHECK(r.out.contains(out + QStringLiteral(".p7s")));
    CHECK(r.out.contains(QStringLiteral("openssl cms -verify -binary -inform DER")));
    CHECK(QFileInfo::exists(out + QStringLiteral(".p7s")));

    r = verify(st, out);
    INFO(r.all().toStdString());
    CHECK(r.code == 0);
    CHECK(r.out.startsWith(QStringLiteral("PASS")));
    r = verify(st, out, true);
    const QJsonObject doc = QJsonDocument::fromJson(r.out.toUtf8()).object();
    CHECK(r.code == 0);
    CHECK(doc.value(QStringLiteral("result")).toString() == QStringLiteral("PASS"));
    CHECK(doc.value(QStringLiteral("records")).toInt() == 3);
    CHECK(doc.value(QStringLiteral("order")).toString() == QStringLiteral("PO-17"));
    CHECK(doc.value(QStringLiteral("signer")).toString().contains(QStringLiteral("Audit")));

    const auto openssl = test::run(
        QStringLiteral("openssl"),
        {QStringLiteral("cms"), QStringLiteral("-verify"), QStringLiteral("-binary"),
         QStringLiteral("-inform"), QStringLiteral("DER"), QStringLiteral("-in"),
         out + QStringLiteral(".p7s"), QStringLiteral("-content"), out, QStringLiteral("-CAfile"),
         st.exportFile(QStringLiteral("device-root-ca.pem")), QStringLiteral("-purpose"),
         QStringLiteral("any"), QStringLiteral("-out"), QStringLiteral("/dev/null")});
    INFO(openssl.output.toStdString());
    CHECK(openssl.exitCode == 0);

    // The export itself is in the log, for the order it concerns.
    QString stationId;
    auto db = openStationDb(st, &stationId);
    std::vector<db::AuditEntry> entries;
    REQUIRE(db::AuditLog(*db, stationId)
                .forEach(QStringLiteral("PO-17"),
                         [&](const db::AuditEntry& e) -> Result<void> {
                             entries.push_back(e);
                             return success();
                         })
                .ok());
    REQUIRE(entries.size() == 4);
    CHECK(entries.back().event == QStringLiteral("audit.exported"));
    CHECK(entries.back().details.contains(QStringLiteral("\"records\":3")));
    CHECK(entries.back().details.contains(QStringLiteral("\"format\":\"") + format));
}

TEST_CASE("audit export of the whole log names the operator who exported", "[cli][audit]") {
    StationFixture st;
    st.initDev();
    makeAuditLog(st);
    const QString out = st.path(QStringLiteral("all.jsonl"));
    QStringList args = exportArgs(QString(), out, QStringLiteral("jsonl"));
    args << QStringLiteral("--operator") << QStringLiteral("alice");
    {
        const ScopedEnv pin("KEYLINE_OPERATOR_PIN", "wrong-Pin-0000");
        const CliRun r = st.run(args);
        CHECK(r.code == 1);
        CHECK_FALSE(QFileInfo::exists(out));
    }
    const ScopedEnv pin("KEYLINE_OPERATOR_PIN", kAlicePin);
    const CliRun r = st.run(args);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("exported 5 audit records (whole log")));
    CHECK(r.out.contains(QStringLiteral("exported by alice")));
    CHECK_FALSE(r.all().contains(QString::fromUtf8(kAlicePin)));
    CHECK_FALSE(st.readFile(QStringLiteral("all.jsonl")).contains(kAlicePin));
    CHECK(verify(st, out).code == 0);
}

TEST_CASE("audit verify fails a tampered export naming the line", "[cli][audit]") {
    StationFixture st;
    st.initDev();
    makeAuditLog(st);
    const QString name = QStringLiteral("all.jsonl");
    REQUIRE(st.run(exportArgs(QString(), st.path(name), QStringLiteral("jsonl"))).code == 0);

    SECTION("one byte of a record changed") {
        const QString bad =
            tamperedCopy(st, name, QStringLiteral("altered.jsonl"), [](QList<QByteArray>& lines) {
                const qsizetype at = lines[3].indexOf("quoted");
                REQUIRE(at > 0);
                lines[3][at] = 'Q';
            });
        CliRun r = verify(st, bad);
        CHECK(r.code == 1);
        CHECK(r.out.startsWith(QStringLiteral("FAIL")));
        CHECK(r.out.contains(QStringLiteral("line 4")));
        CHECK(r.out.contains(QStringLiteral("altered")));
        r = verify(st, bad, true);
        const QJsonObject doc = QJsonDocument::fromJson(r.out.toUtf8()).object();
        CHECK(r.code == 1);
        CHECK(doc.value(QStringLiteral("result")).toString() == QStringLiteral("FAIL"));
        CHECK(doc.value(QStringLiteral("line")).toInt() == 4);
    }
    SECTION("a record removed") {
        const QString bad = tamperedCopy(st, name, QStringLiteral("removed.jsonl"),
                                         [](QList<QByteArray>& lines) { lines.removeAt(3); });
        const CliRun r = verify(st, bad);
        CHECK(r.code == 1);
        CHECK(r.out.contains(QStringLiteral("line 4")));
        CHECK(r.out.contains(QStringLiteral("removed")));
    }
    SECTION("a malformed file is bad input") {
        const QString bad = tamperedCopy(st, name, QStringLiteral("malformed.jsonl"),
                                         [](QList<QByteArray>& lines) { lines[2] = "{not json"; });
        const CliRun r = verify(st, bad);
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("line 3")));
    }
    SECTION("the signature of another file") {
        st.writeFile(QStringLiteral("other.jsonl"), st.readFile(name));
        REQUIRE(st.run(exportArgs(QStringLiteral("PO-17"), st.path(QStringLiteral("po.jsonl")),
                                  QStringLiteral("jsonl")))
                    .code == 0);
        st.writeFile(QStringLiteral("other.jsonl.p7s"),
                     st.readFile(QStringLiteral("po.jsonl.p7s")));
        const CliRun r = verify(st, st.path(QStringLiteral("other.jsonl")));
        CHECK(r.code == 1);
        CHECK(r.out.contains(QStringLiteral("signature")));
    }
}

TEST_CASE("audit export refuses a broken chain in the database", "[cli][audit]") {
    StationFixture st;
    st.initDev();
    makeAuditLog(st);
    {
        QString stationId;
        auto db = openStationDb(st, &stationId);
        REQUIRE(db->exec(QStringLiteral("UPDATE audit_log SET details = '{}' WHERE seq = 3")).ok());
    }
    const QString out = st.path(QStringLiteral("all.jsonl"));
    const CliRun r = st.run(exportArgs(QString(), out, QStringLiteral("jsonl")));
    CHECK(r.code == 1);
    CHECK(r.err.contains(QStringLiteral("seq 3")));
    CHECK(r.err.contains(QStringLiteral("nothing was exported")));
    CHECK_FALSE(QFileInfo::exists(out));
}

TEST_CASE("audit bad usage and missing roots have their exit codes", "[cli][audit]") {
    StationFixture st; // no init-dev: no root certificate, no token
    const QString some = st.writeFile(QStringLiteral("x.jsonl"), "{}\n");
    const QString a = QStringLiteral("audit");
    const std::pair<QStringList, const char*> usage[] = {
        {{a, QStringLiteral("export"), QStringLiteral("-o"), some}, "--order ID or --all"},
        {{a, QStringLiteral("export"), QStringLiteral("--all"), QStringLiteral("--order"),
          QStringLiteral("PO-1"), QStringLiteral("-o"), some},
         "exactly one of"},
        {{a, QStringLiteral("export"), QStringLiteral("--all")}, "-o FILE"},
        {{a, QStringLiteral("export"), QStringLiteral("--all"), QStringLiteral("--format"),
          QStringLiteral("xml"), QStringLiteral("-o"), some},
         "xml"},
        {{a, QStringLiteral("verify")}, "exactly one FILE"},
        {{a, QStringLiteral("verify"), some, QStringLiteral("--all")}, "takes no option"},
        {{a, QStringLiteral("shred")}, "unknown audit subcommand"},
        {{a, QStringLiteral("verify"), some, QStringLiteral("--ca"),
          st.path(QStringLiteral("no.pem"))},
         "no.pem"},
    };
    for (const auto& [args, reason] : usage) {
        const CliRun r = st.run(args);
        INFO(args.join(QLatin1Char(' ')).toStdString() + " -> " + r.all().toStdString());
        CHECK(r.code == 2);
        CHECK(r.err.contains(QLatin1String(reason)));
        CHECK(r.err.count(QLatin1Char('\n')) == 1);
    }
    const CliRun noRoot = st.run({a, QStringLiteral("verify"), some});
    CHECK(noRoot.code == 3);
    CHECK(noRoot.err.contains(QStringLiteral("--ca")));
}
