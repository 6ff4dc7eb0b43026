// `keyline operator ...` in-process against a station database in a temp dir: bootstrap, roles,
// audit entries with who acted, wrong PINs refused, and no PIN in any output.

#include "cli_fixture.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "station/config.h"
#include "station/station_context.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

using keyline::test::ScopedEnv;

namespace {

// The station's audit log, read through the db library as an auditor's tool would.
std::vector<db::AuditEntry> auditEntries(const StationFixture& st) {
    auto config = station::loadConfig(st.config);
    REQUIRE(config.ok());
    auto database = station::StationContext(*config).openDatabase();
    REQUIRE(database.ok());
    std::vector<db::AuditEntry> entries;
    REQUIRE(db::AuditLog(**database, config->stationName)
                .forEach(QString(),
                         [&](const db::AuditEntry& e) -> Result<void> {
                             entries.push_back(e);
                             return success();
                         })
                .ok());
    return entries;
}

const QByteArray kAlicePin = "alice-Pin-4821";
const QByteArray kBobPin = "bob-Pin-9917";
const QByteArray kCarlPin = "carl-Pin-3306";
const QByteArray kWrongPin = "wrong-Pin-0000";

QStringList op(std::initializer_list<const char*> words) {
    QStringList args{QStringLiteral("operator")};
    for (const char* w : words)
        args << QLatin1String(w);
    return args;
}

// Runs one operator command with the given PINs in the environment, and checks no PIN of this
// test shows up in what it printed.
CliRun runWith(const StationFixture& st, const QStringList& args, const QByteArray& ownPin = {},
               const QByteArray& newPin = {}) {
    const ScopedEnv own("KEYLINE_OPERATOR_PIN", ownPin);
    const ScopedEnv fresh("KEYLINE_NEW_OPERATOR_PIN", newPin);
    const CliRun r = st.run(args);
    for (const QByteArray& pin : {kAlicePin, kBobPin, kCarlPin, kWrongPin})
        CHECK_FALSE(r.all().contains(QString::fromUtf8(pin)));
    return r;
}

// alice (supervisor, bootstrap) and bob (operator, added by alice).
void addAliceAndBob(const StationFixture& st) {
    CliRun r = runWith(st, op({"add", "alice", "--role", "supervisor"}), {}, kAlicePin);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("bootstrap")));
    r = runWith(st, op({"add", "bob", "--role", "operator", "--as", "alice"}), kAlicePin, kBobPin);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("added operator bob (by alice)")));
}

} // namespace

TEST_CASE("operator add bootstraps the first account then needs an administrator",
          "[cli][operator]") {
    StationFixture st;
    CliRun r = runWith(st, op({"list"}));
    CHECK(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("no operators yet")));

    // The first account must be able to add the others.
    r = runWith(st, op({"add", "bob", "--role", "operator"}), {}, kBobPin);
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("supervisor or engineer")));

    addAliceAndBob(st);

    SECTION("a non-administrator cannot add") {
        r = runWith(st, op({"add", "carl", "--role", "operator", "--as", "bob"}), kBobPin,
                    kCarlPin);
        CHECK(r.code == 1);
        CHECK(r.err.contains(QStringLiteral("needs the role supervisor or engineer")));
    }
    SECTION("a wrong PIN is refused") {
        r = runWith(st, op({"add", "carl", "--role", "operator", "--as", "alice"}), kWrongPin,
                    kCarlPin);
        CHECK(r.code == 1);
        CHECK(r.err.contains(QStringLiteral("wrong PIN")));
    }
    SECTION("nobody named and no service account") {
        r = runWith(st, op({"add", "carl", "--role", "operator"}), {}, kCarlPin);
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("--as NAME")));
    }
    SECTION("a supervisor cannot create an engineer") {
        r = runWith(st, op({"add", "carl", "--role", "engineer", "--as", "alice"}), kAlicePin,
                    kCarlPin);
        CHECK(r.code == 1);
    }
    SECTION("a taken name is refused") {
        r = runWith(st, op({"add", "bob", "--role", "operator", "--as", "alice"}), kAlicePin,
                    kCarlPin);
        CHECK(r.code == 1);
        CHECK(r.err.contains(QStringLiteral("already exists")));
    }
    // Only the two successful adds are in the log, with who made them; no PIN, no hash.
    const auto entries = auditEntries(st);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].operatorName.isEmpty());
    CHECK(entries[0].details.contains(QStringLiteral("\"bootstrap\":true")));
    CHECK(entries[1].operatorName == QStringLiteral("alice"));
    CHECK(entries[1].event == QStringLiteral("operator.added"));
    for (const auto& e : entries) {
        CHECK_FALSE(e.details.contains(QStringLiteral("pbkdf2")));
        for (const QByteArray& pin : {kAlicePin, kBobPin, kCarlPin})
            CHECK_FALSE(e.details.contains(QString::fromUtf8(pin)));
    }
}

TEST_CASE("operator list shows accounts as text and stable JSON", "[cli][operator]") {
    StationFixture st;
    addAliceAndBob(st);
    CliRun r = runWith(st, op({"list"}));
    CHECK(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("alice")));
    CHECK(r.out.contains(QStringLiteral("supervisor")));
    r = runWith(st, op({"list", "--json"}));
    REQUIRE(r.code == 0);
    const QJsonArray accounts = QJsonDocument::fromJson(r.out.toUtf8())
                                    .object()
                                    .value(QStringLiteral("operators"))
                                    .toArray();
    REQUIRE(accounts.size() == 2);
    const QJsonObject bob = accounts.at(1).toObject();
    CHECK(bob.value(QStringLiteral("name")).toString() == QStringLiteral("bob"));
    CHECK(bob.value(QStringLiteral("role")).toString() == QStringLiteral("operator"));
    CHECK(bob.value(QStringLiteral("active")).toBool());
    CHECK(bob.contains(QStringLiteral("created_at")));
    CHECK_FALSE(r.out.contains(QStringLiteral("pbkdf2")));
}

TEST_CASE("operator set-role, disable and enable are audited with who did it", "[cli][operator]") {
    StationFixture st;
    addAliceAndBob(st);
    CliRun r = runWith(st, op({"set-role", "bob", "supervisor", "--as", "alice"}), kAlicePin);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("bob is now supervisor")));

    r = runWith(st, op({"set-role", "bob", "engineer", "--as", "alice"}), kAlicePin);
    CHECK(r.code == 1); // never above the administrator's own role

    r = runWith(st, op({"disable", "alice", "--as", "bob"}), kBobPin);
    REQUIRE(r.code == 0);
    // A disabled account cannot act any more, and the last administrator cannot go.
    r = runWith(st, op({"disable", "bob", "--as", "alice"}), kAlicePin);
    CHECK(r.code == 1);
    r = runWith(st, op({"disable", "bob", "--as", "bob"}), kBobPin);
    CHECK(r.code == 1);
    CHECK(r.err.contains(QStringLiteral("last active supervisor or engineer")));
    r = runWith(st, op({"enable", "alice", "--as", "bob"}), kBobPin);
    REQUIRE(r.code == 0);

    const auto entries = auditEntries(st);
    REQUIRE(entries.size() == 5);
    CHECK(entries[2].event == QStringLiteral("operator.role-changed"));
    CHECK(entries[2].operatorName == QStringLiteral("alice"));
    CHECK(entries[2].details.contains(QStringLiteral("\"to\":\"supervisor\"")));
    CHECK(entries[3].event == QStringLiteral("operator.disabled"));
    CHECK(entries[3].operatorName == QStringLiteral("bob"));
    CHECK(entries[4].event == QStringLiteral("operator.enabled"));
}

TEST_CASE("operator passwd changes the own PIN after checking the old one", "[cli][operator]") {
    StationFixture st;
    addAliceAndBob(st);
    CliRun r = runWith(st, op({"passwd", "bob"}), kWrongPin, kCarlPin);
    CHECK(r.code == 1);
    r = runWith(st, op({"passwd", "bob"}), kBobPin, kCarlPin);
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    // The new PIN is bob's now, the old one no longer is.
    r = runWith(st, op({"passwd", "bob"}), kBobPin, kWrongPin);
    CHECK(r.code == 1);
    r = runWith(st, op({"passwd", "bob"}), kCarlPin, kBobPin);
    CHECK(r.code == 0);
    const auto entries = auditEntries(st);
    REQUIRE(entries.size() == 4);
    CHECK(entries[2].event == QStringLiteral("operator.pin-changed"));
    CHECK(entries[2].operatorName == QStringLiteral("bob"));
}

TEST_CASE("operator add by the configured service account", "[cli][operator]") {
    StationFixture st;
    addAliceAndBob(st);
    const QByteArray conf = "[station]\nname = test-line\ndata_dir = " + st.dataDir().toUtf8() +
                            "\nservice_account = alice\n";
    const QString config = st.writeFile(QStringLiteral("service.conf"), conf);
    const ScopedEnv fresh("KEYLINE_NEW_OPERATOR_PIN", kCarlPin);
    const CliRun r = test::runKeyline(config, op({"add", "carl", "--role", "operator"}));
    INFO(r.all().toStdString());
    CHECK(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("(by alice)")));
}

TEST_CASE("operator bad usage is exit 2 with a one-line reason", "[cli][operator]") {
    StationFixture st;
    addAliceAndBob(st);
    const std::pair<QStringList, const char*> cases[] = {
        {op({"frobnicate"}), "unknown operator subcommand"},
        {op({"add", "carl"}), "--role"},
        {op({"add", "carl", "--role", "boss"}), "boss"},
        {op({"add", "bad name!", "--role", "operator", "--as", "alice"}), "operator name"},
        {op({"set-role", "bob"}), "usage: keyline operator set-role"},
        {op({"list", "--as", "alice"}), "takes no option"},
        {op({"disable", "nobody", "--as", "alice"}), "no operator nobody"},
        {op({"add", "carl", "--role", "operator", "--bogus"}), "bogus"},
    };
    for (const auto& [args, reason] : cases) {
        const CliRun r = runWith(st, args, kAlicePin, kCarlPin);
        INFO(args.join(QLatin1Char(' ')).toStdString() + " -> " + r.all().toStdString());
        CHECK(r.code == 2);
        CHECK(r.err.contains(QLatin1String(reason)));
        CHECK(r.err.count(QLatin1Char('\n')) == 1);
    }
    // A PIN that breaks the rules is refused without being echoed.
    const CliRun r =
        runWith(st, op({"add", "carl", "--role", "operator", "--as", "alice"}), kAlicePin, "12");
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("4 to 64 characters")));
}
