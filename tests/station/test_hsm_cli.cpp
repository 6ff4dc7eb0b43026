// `keyline hsm …` in-process against a SoftHSM2 token in a temp dir: the development set, the
// key listing, and every way the HSM can be unusable (exit 3, PIN never shown).

#include "cli_fixture.h"
#include "hsm/key_inventory.h"
#include "line_fixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::StationFixture;

namespace {

const QStringList kKeys{QStringLiteral("hsm"), QStringLiteral("keys")};

} // namespace

TEST_CASE("hsm init-dev is idempotent", "[cli][hsm]") {
    StationFixture st;
    const CliRun first = st.run({QStringLiteral("hsm"), QStringLiteral("init-dev")});
    INFO(first.all().toStdString());
    REQUIRE(first.code == 0);
    CHECK(first.out.contains(QStringLiteral("token keyline-dev: created")));
    CHECK(first.out.contains(QStringLiteral("created  keyline-issuing-ca")));
    CHECK(QFile::exists(st.exportFile(QStringLiteral("keystore-signing.pub.pem"))));

    const CliRun second = st.run({QStringLiteral("hsm"), QStringLiteral("init-dev")});
    INFO(second.all().toStdString());
    CHECK(second.code == 0);
    CHECK(second.out.contains(QStringLiteral("token keyline-dev: already there")));
    CHECK(second.out.contains(QStringLiteral("nothing to create")));
    CHECK_FALSE(second.out.contains(QStringLiteral("created  ")));
    // The PIN is never shown, not even on success.
    CHECK_FALSE(first.all().contains(QString::fromLatin1(test::kTestPin)));
}

TEST_CASE("hsm init-dev refuses a module that is not SoftHSM2", "[cli][hsm]") {
    StationFixture st(test::kTestPin, "module = /opt/vendor/lib/libvendorhsm.so\n");
    const CliRun r = st.run({QStringLiteral("hsm"), QStringLiteral("init-dev")});
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("SoftHSM2")));
}

TEST_CASE("hsm keys lists every key with its attributes", "[cli][hsm]") {
    StationFixture st;
    st.initDev();

    const CliRun text = st.run(kKeys);
    INFO(text.all().toStdString());
    REQUIRE(text.code == 0);
    CHECK(text.out.contains(QStringLiteral("SENSITIVE")));
    CHECK(text.out.contains(QStringLiteral("keyline-image-key")));

    const CliRun r = st.run(kKeys + QStringList{QStringLiteral("--json")});
    INFO(r.all().toStdString());
    REQUIRE(r.code == 0);
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &perr);
    REQUIRE(perr.error == QJsonParseError::NoError);
    CHECK(doc[QStringLiteral("token")].toString() == QStringLiteral("keyline-dev"));
    const QJsonArray keys = doc[QStringLiteral("keys")].toArray();
    QStringList labels;
    for (const auto& v : keys) {
        const QJsonObject k = v.toObject();
        const QString label = k[QStringLiteral("label")].toString();
        INFO(label.toStdString());
        labels << label;
        CHECK(k[QStringLiteral("sensitive")].toBool());
        CHECK(k[QStringLiteral("always_sensitive")].toBool());
        CHECK(k[QStringLiteral("policy")].toString() == QStringLiteral("ok"));
        CHECK_FALSE(k[QStringLiteral("purpose")].toString().isEmpty());
        CHECK(k[QStringLiteral("uri")].toString().startsWith(QStringLiteral("pkcs11:")));
        // Only the image key may leave the HSM, and only wrapped.
        const bool image = label == hsm::labels::imageKey;
        CHECK(k[QStringLiteral("extractable")].toBool() == image);
        CHECK(k[QStringLiteral("never_extractable")].toBool() == !image);
        CHECK(k[QStringLiteral("type")].toString() ==
              (image ? QStringLiteral("AES-256") : QStringLiteral("EC P-256")));
    }
    QStringList expected;
    for (const auto& spec : hsm::keyInventory())
        expected << spec.label;
    expected.sort();
    CHECK(labels == expected);
}

TEST_CASE("wrong PIN: exit 3, one clear line, the PIN never echoed", "[cli][hsm][pin]") {
    StationFixture st;
    st.initDev();
    const QByteArray wrong = QByteArrayLiteral("Wr0ng-PIN-4242");

    SECTION("from the configuration file") {
        const QString conf = st.writeConfig(QStringLiteral("wrong.conf"), wrong);
        for (int attempt = 0; attempt < 2; ++attempt) {
            const CliRun r = test::runKeyline(conf, kKeys);
            CHECK(r.code == 3);
            CHECK(r.err.contains(QStringLiteral("rejected the PIN")));
            CHECK(r.err.contains(QStringLiteral("not retried")));
            CHECK(r.err.count(QLatin1Char('\n')) == 1);
            CHECK_FALSE(r.all().contains(QString::fromLatin1(wrong)));
            CHECK_FALSE(r.all().contains(QString::fromLatin1(test::kTestPin)));
        }
        // Two refused runs cost two attempts, not a lock: the right PIN still works.
        CHECK(st.run(kKeys).code == 0);
    }
    SECTION("from $KEYLINE_HSM_PIN") {
        const QString conf = st.writeConfig(QStringLiteral("nopin.conf"), {});
        qputenv("KEYLINE_HSM_PIN", wrong);
        const CliRun r = test::runKeyline(conf, kKeys);
        qunsetenv("KEYLINE_HSM_PIN");
        CHECK(r.code == 3);
        CHECK_FALSE(r.all().contains(QString::fromLatin1(wrong)));
    }
    SECTION("for every command that opens the HSM") {
        const QString conf = st.writeConfig(QStringLiteral("wrong.conf"), wrong);
        const CliRun build = test::runKeyline(
            conf, {QStringLiteral("keystore"), QStringLiteral("build"),
                   QStringLiteral("--customer"), QStringLiteral("acme-42"), QStringLiteral("--env"),
                   QStringLiteral("dev"), QStringLiteral("--serial"), QStringLiteral("1"),
                   QStringLiteral("-o"), st.path(QStringLiteral("ks.bin"))});
        CHECK(build.code == 3);
        CHECK_FALSE(build.all().contains(QString::fromLatin1(wrong)));
        const CliRun init =
            test::runKeyline(conf, {QStringLiteral("hsm"), QStringLiteral("init-dev")});
        CHECK(init.code == 3);
        CHECK_FALSE(init.all().contains(QString::fromLatin1(wrong)));
    }
}

TEST_CASE("missing module: exit 3 naming the module and the setting", "[cli][hsm]") {
    StationFixture st(test::kTestPin, "module = /nonexistent/libvendor-pkcs11.so\n");
    const CliRun r = st.run(kKeys);
    CHECK(r.code == 3);
    CHECK(r.err.contains(QStringLiteral("/nonexistent/libvendor-pkcs11.so")));
    CHECK(r.err.contains(QStringLiteral("[hsm] module")));
}

TEST_CASE("absent token: exit 3 saying what to do", "[cli][hsm]") {
    StationFixture st;
    SECTION("no SoftHSM2 configuration yet (init-dev never ran)") {
        const CliRun r = st.run(kKeys);
        CHECK(r.code == 3);
        CHECK(r.err.contains(QStringLiteral("init-dev")));
    }
    SECTION("a token label the module does not have") {
        st.initDev();
        const QString conf =
            st.writeConfig(QStringLiteral("other.conf"), test::kTestPin, "token = line-7\n");
        const CliRun r = test::runKeyline(conf, kKeys);
        CHECK(r.code == 3);
        CHECK(r.err.contains(QStringLiteral("line-7")));
        CHECK(r.err.contains(QStringLiteral("[hsm] token")));
    }
}

TEST_CASE("missing key: exit 3 naming the key", "[cli][hsm]") {
    StationFixture st(test::kTestPin, "keystore_signing = \"pkcs11:object=keyline-no-such-key\"\n");
    st.initDev();
    const CliRun r =
        st.run({QStringLiteral("keystore"), QStringLiteral("build"), QStringLiteral("--customer"),
                QStringLiteral("acme-42"), QStringLiteral("--env"), QStringLiteral("dev"),
                QStringLiteral("--serial"), QStringLiteral("1"), QStringLiteral("-o"),
                st.path(QStringLiteral("ks.bin"))});
    CHECK(r.code == 3);
    CHECK(r.err.contains(QStringLiteral("keyline-no-such-key")));
    CHECK_FALSE(QFile::exists(st.path(QStringLiteral("ks.bin"))));
}

TEST_CASE("hsm: usage errors exit 2 and --help teaches the group", "[cli][hsm]") {
    StationFixture st;
    const CliRun help = st.run({QStringLiteral("hsm"), QStringLiteral("--help")});
    CHECK(help.code == 0);
    CHECK(help.out.contains(QStringLiteral("ceremony generate")));
    CHECK(help.out.contains(QStringLiteral("Examples")));
    CHECK(st.run({QStringLiteral("hsm")}).code == 2);
    CHECK(st.run({QStringLiteral("hsm"), QStringLiteral("explode")}).code == 2);
    CHECK(st.run(kKeys + QStringList{QStringLiteral("--key"), QStringLiteral("x")}).code == 2);
    CHECK(st.run({QStringLiteral("hsm"), QStringLiteral("ceremony")}).code == 2);
    CHECK(st.run({QStringLiteral("hsm"), QStringLiteral("ceremony"), QStringLiteral("generate"),
                  QStringLiteral("--key"), QStringLiteral("master-key"), QStringLiteral("-o"),
                  QStringLiteral("x.csr")})
              .code == 2);
}

TEST_CASE(
    "a dev token cut short by a process killed during its login is restored at the next start",
    "[cli][hsm]") {
    StationFixture st;
    st.initDev();
    // SoftHSM2 truncates and rewrites token.object on every C_Login: a process killed in
    // between leaves it empty (the chaos test found this), which the truncation reproduces.
    const QDir tokens(QDir(st.dataDir()).filePath(QStringLiteral("softhsm/tokens")));
    const QStringList folders = tokens.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    REQUIRE(folders.size() == 1);
    const QString live = tokens.filePath(folders.first() + QStringLiteral("/token.object"));
    const qint64 size = QFileInfo(live).size();
    REQUIRE(size > 0);
    REQUIRE(QFile::exists(live + QStringLiteral(".keyline-copy")));
    REQUIRE(QFile(live).resize(0));

    // A new process, as after a restart: the module reads the token afresh.
    QProcess keys;
    keys.setProcessChannelMode(QProcess::MergedChannels);
    keys.start(
        keyline::test::buildPath("station/keyline"),
        {QStringLiteral("--config"), st.config, QStringLiteral("hsm"), QStringLiteral("keys")});
    REQUIRE(keys.waitForFinished(30000));
    const QString out = QString::fromUtf8(keys.readAll());
    INFO(out.toStdString());
    CHECK(keys.exitCode() == 0);
    CHECK(out.contains(QStringLiteral("keyline-issuing-ca")));
    CHECK(QFileInfo(live).size() == size);
}

TEST_CASE("stations opening one SoftHSM2 token at the same moment all find it", "[cli][hsm]") {
    StationFixture st;
    st.initDev();
    // Each start logs in, and SoftHSM2 rewrites token.object at every login: without the
    // token lock, a process loading the module meanwhile read it half-written and reported
    // "no token labelled 'keyline-dev'" (four stations of a PostgreSQL line did, under load).
    constexpr int kRounds = 4, kProcesses = 8;
    for (int round = 0; round < kRounds; ++round) {
        std::vector<std::unique_ptr<QProcess>> starts;
        for (int i = 0; i < kProcesses; ++i) {
            auto p = std::make_unique<QProcess>();
            p->setProcessChannelMode(QProcess::MergedChannels);
            p->start(keyline::test::buildPath("station/keyline"),
                     QStringList{QStringLiteral("--config"), st.config} + kKeys);
            starts.push_back(std::move(p));
        }
        for (auto& p : starts) {
            REQUIRE(p->waitForFinished(60000));
            const QString out = QString::fromUtf8(p->readAll());
            INFO("round " << round << ": " << out.toStdString());
            CHECK(p->exitCode() == 0);
            CHECK(out.contains(QStringLiteral("keyline-issuing-ca")));
        }
    }
}
