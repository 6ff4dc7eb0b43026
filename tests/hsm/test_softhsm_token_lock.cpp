// The lock that makes keyline processes sharing a SoftHSM2 token directory load the module and
// log in one at a time (see hsm/softhsm_token_guard.h).
#include "hsm/softhsm_token_guard.h"
#include "hsm_fixture.h"

#include <QDir>
#include <QFile>

using namespace keyline;
using hsm::softhsm::TokenFileLock;

namespace {

QString writeConf(const QTemporaryDir& dir) {
    const QString tokens = QDir(dir.path()).filePath(QStringLiteral("tokens"));
    REQUIRE(QDir().mkpath(tokens));
    const QString conf = QDir(dir.path()).filePath(QStringLiteral("softhsm2.conf"));
    QFile f(conf);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(QStringLiteral("# a comment\ndirectories.tokendir = %1\n").arg(tokens).toUtf8());
    return conf;
}

} // namespace

TEST_CASE("a second holder of the token lock waits and then names the lock file",
          "[hsm][softhsm]") {
    QTemporaryDir dir;
    const QString conf = writeConf(dir);
    auto first = TokenFileLock::acquire(conf, std::chrono::milliseconds(1000));
    REQUIRE(first.ok());
    REQUIRE(first->held());

    // flock() conflicts between two descriptors even in one process, as between stations.
    auto second = TokenFileLock::acquire(conf, std::chrono::milliseconds(200));
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(second.error().message().contains(QStringLiteral("keyline-token.lock")));
    CHECK(second.error().message().contains(QStringLiteral("fuser")));

    first->release();
    auto third = TokenFileLock::acquire(conf, std::chrono::milliseconds(200));
    REQUIRE(third.ok());
    CHECK(third->held());

    // Moving hands the lock over; the moved-from object no longer releases it.
    TokenFileLock moved = std::move(*third);
    CHECK(moved.held());
    CHECK_FALSE(TokenFileLock::acquire(conf, std::chrono::milliseconds(50)).ok());
}

TEST_CASE("a configuration without a token directory takes no lock", "[hsm][softhsm]") {
    QTemporaryDir dir;
    const QString conf = QDir(dir.path()).filePath(QStringLiteral("softhsm2.conf"));
    QFile f(conf);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write("log.level = ERROR\n");
    f.close();
    auto lock = TokenFileLock::acquire(conf, std::chrono::milliseconds(50));
    REQUIRE(lock.ok());
    CHECK_FALSE(lock->held());
}

TEST_CASE("opening the HSM releases the token lock once logged in", "[hsm][softhsm]") {
    test::DevTokenFixture token;
    auto h = token.open();
    // Held for the whole run, the next station on this token would wait for this one to end.
    auto lock = TokenFileLock::acquire(token.report.softhsmConfig, std::chrono::milliseconds(50));
    INFO((lock.ok() ? QString() : lock.error().toString()).toStdString());
    CHECK(lock.ok());
}

TEST_CASE("a PIN typed by a person is asked for before the token lock is taken", "[hsm][softhsm]") {
    test::DevTokenFixture token;
    hsm::HsmConfig config = token.config();
    config.pin = hsm::PinSource{};
    config.pin.environmentVariable.clear();
    bool lockFreeWhileAsking = false;
    config.pin.prompt = [&](const QString&) -> Result<QByteArray> {
        // Another station must not wait for the person typing: the lock is still free here.
        auto probe = TokenFileLock::acquire(config.softhsmConfig, std::chrono::milliseconds(0));
        lockFreeWhileAsking = probe.ok() && probe->held();
        return test::kTestPin;
    };
    REQUIRE(config.pin.asksPerson());
    auto h = hsm::Pkcs11Hsm::open(config);
    INFO((h.ok() ? QString() : h.error().toString()).toStdString());
    REQUIRE(h.ok());
    CHECK(lockFreeWhileAsking);
}
