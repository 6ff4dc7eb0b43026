// libFuzzer target for the signature half of `keyline audit verify` (db/detached_cms.cpp, then
// the export parser and chain check fuzz_audit_export covers): a detached CMS signature and the
// file it claims to sign, both from an auditor's hands.
// Input: 2 bytes CMS length (big-endian), the CMS (DER), then the signed file.
// Seeds: tests/fuzz/corpus/fuzz_audit_verify/ (exports signed by the throwaway root below, also
// tests/fuzz/audit_verify_root.pem for tests/db/test_detached_cms.cpp, with
// `openssl cms -sign -binary -md sha256`; its private key was thrown away).
//
// Properties checked beyond "no crash":
//  - a refusal is BadInput or VerificationFailed, one line;
//  - a signature that verifies binds its file: the same signature over the file with one byte
//    changed does not verify;
//  - a signer is named whenever it verifies.

#include "db/audit_export_format.h"
#include "db/detached_cms.h"

#include <cstdint>
#include <cstdlib>

namespace {

const char kTrustedRoot[] = R"(-----BEGIN CERTIFICATE-----
MIIBrDCCAVGgAwIBAgIUSmcY468w5PfuL38b2kPwAByWFcswCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXS2V5bGluZSBmdXp6IGF1ZGl0IHJvb3QwIBcNMjYxMTIyMDEw
MTM1WhgPMjEyNjEwMjkwMTAxMzVaMCIxIDAeBgNVBAMMF0tleWxpbmUgZnV6eiBh
dWRpdCByb290MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERxBmTIK37fwi5rOr
wR7KD8pt5snD6dsUmQcpBie5am44gPsq0ctZ4HhCYSvIIaA3WGGk330Pm0AszyR7
3O/SQqNjMGEwHQYDVR0OBBYEFFPtlJObJJo35gTFRjR1CoJ5ZlR6MB8GA1UdIwQY
MBaAFFPtlJObJJo35gTFRjR1CoJ5ZlR6MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgIEMAoGCCqGSM49BAMCA0kAMEYCIQClwSbAkkqadVygHCXrw+YHndsa
vC2EU8YQ+B20cyb+cwIhAJbtDw1yXxO5/1HWSoK/JdRew1fGOQdYz8Ev1gR6Wthk
-----END CERTIFICATE-----)";

void checkRefusal(const keyline::Error& e) {
    if (e.code() != keyline::ErrorCode::BadInput &&
        e.code() != keyline::ErrorCode::VerificationFailed)
        std::abort();
    if (e.toString().contains(QLatin1Char('\n')))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || size > 256 * 1024)
        return 0;
    const std::size_t cmsSize = std::min<std::size_t>((data[0] << 8) | data[1], size - 2);
    const QByteArray cms(reinterpret_cast<const char*>(data + 2), qsizetype(cmsSize));
    QByteArray content(reinterpret_cast<const char*>(data + 2 + cmsSize),
                       qsizetype(size - 2 - cmsSize));
    const QByteArray root = QByteArray::fromRawData(kTrustedRoot, sizeof kTrustedRoot - 1);

    auto signer = keyline::db::verifyDetachedCms(cms, content, root);
    if (!signer.ok()) {
        checkRefusal(signer.error());
        return 0;
    }
    if (signer->isEmpty())
        std::abort();
    if (!content.isEmpty()) {
        content[content.size() / 2] = char(content[content.size() / 2] ^ 0x01);
        auto tampered = keyline::db::verifyDetachedCms(cms, content, root);
        if (tampered.ok())
            std::abort(); // the signature did not cover the file
        checkRefusal(tampered.error());
        content[content.size() / 2] = char(content[content.size() / 2] ^ 0x01);
    }
    // What verify does next with a signed file.
    if (auto parsed = keyline::db::parseAuditExport(content); parsed.ok())
        (void)keyline::db::verifyAuditExportChain(*parsed);
    return 0;
}
