// Every way the HSM can be unusable is one clear EnvironmentNotReady (exit code 3) that says
// what to do; none crashes, none retries a PIN.

#include "hsm/key_inventory.h"
#include "hsm_fixture.h"

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;

namespace {

Error openError(const HsmConfig& c) {
    auto r = Pkcs11Hsm::open(c);
    REQUIRE_FALSE(r.ok());
    return r.error();
}

} // namespace

TEST_CASE("missing or unusable PKCS#11 module") {
    DevTokenFixture fx;
    auto c = fx.config();
    c.modulePath = QStringLiteral("/nonexistent/libvendor-pkcs11.so");
    Error e = openError(c);
    CHECK(e.code() == ErrorCode::EnvironmentNotReady);
    CHECK(exitCodeFor(e.code()) == 3);
    CHECK(e.toString().contains(QStringLiteral("/nonexistent/libvendor-pkcs11.so")));
    CHECK(e.toString().contains(QStringLiteral("[hsm] module")));

    // A shared library that is not a PKCS#11 module.
    c.modulePath = QStringLiteral("/lib/x86_64-linux-gnu/libz.so.1");
    e = openError(c);
    CHECK(e.code() == ErrorCode::EnvironmentNotReady);
}

TEST_CASE("absent token") {
    DevTokenFixture fx;
    auto c = fx.config();
    c.tokenLabel = QStringLiteral("production-line-7");
    const Error e = openError(c);
    CHECK(e.code() == ErrorCode::EnvironmentNotReady);
    CHECK(e.toString().contains(QStringLiteral("production-line-7")));
    CHECK(e.toString().contains(QStringLiteral("init-dev")));
    CHECK(e.toString().contains(QStringLiteral("keyline-dev"))); // shows what is there
}

TEST_CASE("wrong PIN is reported once, not retried, and never shown") {
    DevTokenFixture fx;
    const QByteArray wrong = QByteArrayLiteral("wrong-pin-987");
    for (int attempt = 0; attempt < 2; ++attempt) {
        const Error e = openError(fx.config(wrong));
        CHECK(e.code() == ErrorCode::EnvironmentNotReady);
        CHECK(e.toString().contains(QStringLiteral("rejected the PIN")));
        CHECK_FALSE(e.toString().contains(QString::fromLatin1(wrong)));
        CHECK_FALSE(e.toString().contains(QString::fromLatin1(test::kTestPin)));
    }
    // Two refused opens cost two attempts, not six: the right PIN still works.
    auto ok = Pkcs11Hsm::open(fx.config());
    REQUIRE(ok.ok());
}

TEST_CASE("no PIN anywhere") {
    DevTokenFixture fx;
    auto c = fx.config();
    c.pin = PinSource{};
    c.pin.environmentVariable = QStringLiteral("KEYLINE_TEST_UNSET_PIN_VARIABLE");
    const Error e = openError(c);
    CHECK(e.code() == ErrorCode::EnvironmentNotReady);
    CHECK(e.toString().contains(QStringLiteral("KEYLINE_TEST_UNSET_PIN_VARIABLE")));

    // The environment variable is the second source, and the prompt the third.
    qputenv("KEYLINE_TEST_PIN_VARIABLE", test::kTestPin);
    c.pin.environmentVariable = QStringLiteral("KEYLINE_TEST_PIN_VARIABLE");
    CHECK(Pkcs11Hsm::open(c).ok());
    qunsetenv("KEYLINE_TEST_PIN_VARIABLE");
    c.pin.prompt = [](const QString& label) -> Result<QByteArray> {
        CHECK(label == QStringLiteral("keyline-dev"));
        return test::kTestPin;
    };
    CHECK(Pkcs11Hsm::open(c).ok());
}

TEST_CASE("missing key and key on another token") {
    DevTokenFixture fx;
    auto hsm = fx.open();
    auto s = hsm->signer(hsm->uriFor(QStringLiteral("keyline-no-such-key")));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(s.error().toString().contains(QStringLiteral("keyline-no-such-key")));
    CHECK(s.error().toString().contains(QStringLiteral("init-dev")));

    auto uri = KeyUri::parse(QStringLiteral("pkcs11:token=other;object=keyline-issuing-ca"));
    REQUIRE(uri.ok());
    auto other = hsm->signer(*uri);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code() == ErrorCode::EnvironmentNotReady);

    // An AES key is not a signing key.
    auto aes = hsm->signer(hsm->uriFor(labels::imageKey));
    REQUIRE_FALSE(aes.ok());
    CHECK(aes.error().code() == ErrorCode::EnvironmentNotReady);
}
