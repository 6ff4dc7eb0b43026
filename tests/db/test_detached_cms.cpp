// The signature half of `keyline audit verify` (db/detached_cms.cpp) on the inputs of
// tests/fuzz/fuzz_audit_verify.cpp: exports signed with `openssl cms -sign` by a throwaway root
// (tests/fuzz/audit_verify_root.pem), and what the fuzzer found.
#include "db/detached_cms.h"

#include <QDir>
#include <QFile>
#include <catch2/catch.hpp>

using namespace keyline;

namespace {

QByteArray readSeed(const QString& name) {
    QFile f(QDir(QStringLiteral(KEYLINE_AUDIT_VERIFY_SEED_DIR)).filePath(name));
    REQUIRE(f.open(QIODevice::ReadOnly));
    return f.readAll();
}

// The fuzzer's input layout: 2 bytes CMS length (big-endian), the CMS, the signed file.
struct Signed {
    QByteArray cms, content;
};

Signed split(const QByteArray& input) {
    REQUIRE(input.size() >= 2);
    const int length = (quint8(input[0]) << 8) | quint8(input[1]);
    return {input.mid(2, length), input.mid(2 + length)};
}

QByteArray root() {
    QFile f(QStringLiteral(KEYLINE_AUDIT_VERIFY_ROOT));
    REQUIRE(f.open(QIODevice::ReadOnly));
    return f.readAll();
}

} // namespace

TEST_CASE("a detached CMS signature verifies its export and binds it", "[db][audit][cms]") {
    for (const char* seed : {"po1.jsonl.signed", "po1.csv.signed"}) {
        INFO(seed);
        Signed s = split(readSeed(QLatin1String(seed)));
        auto signer = db::verifyDetachedCms(s.cms, s.content, root());
        REQUIRE(signer.ok());
        CHECK(signer->contains(QStringLiteral("keyline-audit-signing")));
        s.content[s.content.size() / 2] = char(s.content[s.content.size() / 2] ^ 0x01);
        auto tampered = db::verifyDetachedCms(s.cms, s.content, root());
        REQUIRE_FALSE(tampered.ok());
        CHECK(tampered.error().code() == ErrorCode::VerificationFailed);
    }
}

// Found by fuzz_audit_verify: one byte of the digest algorithm's OID changed. OpenSSL 3.0's
// CMS_verify leaked the copy it made of the content; under AddressSanitizer (CI's asan preset)
// this case failed with LeakSanitizer's report before the content went in behind a buffer BIO.
TEST_CASE("a signature naming an unknown digest algorithm is refused and leaks nothing",
          "[db][audit][cms]") {
    const Signed s = split(readSeed(QStringLiteral("regression-unknown-digest-leak.signed")));
    for (int i = 0; i < 3; ++i) {
        auto signer = db::verifyDetachedCms(s.cms, s.content, root());
        REQUIRE_FALSE(signer.ok());
        CHECK(signer.error().code() == ErrorCode::VerificationFailed);
        CHECK(signer.error().toString().startsWith(
            QStringLiteral("the CMS signature does not verify")));
    }
}
