// libFuzzer target for the device CSR checks (hsm/csr_check.cpp, hsm/csr_parse.cpp,
// hsm/csr_pop.cpp): the station's one parser of bytes a device chose freely.
// Seeds: tests/fuzz/corpus/fuzz_csr/ (DER requests for CN=fuzz-device).
//
// Property checked beyond "no crash": whatever is accepted carries a 65-byte uncompressed
// point whose canonical SubjectPublicKeyInfo is exactly the request's, so the CA copies the
// key the signature was verified with.

#include "hsm/csr_check.h"
#include "hsm/ec_util.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArray input(reinterpret_cast<const char*>(data), qsizetype(size));
    auto checked = keyline::hsm::checkDeviceCsr(input, QStringLiteral("fuzz-device"));
    if (checked.ok()) {
        const QByteArray& point = checked->publicPoint();
        if (point.size() != 65 || point.at(0) != 0x04 ||
            checked->publicKeySpki() != keyline::hsm::p256SpkiFromPoint(point) ||
            checked->deviceId() != QStringLiteral("fuzz-device"))
            std::abort();
    }
    return 0;
}
