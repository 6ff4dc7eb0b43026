// libFuzzer target for the keystore parser and verifier (firmware_image/keystore_*.cpp).
// Build: clang++ -fsanitize=fuzzer,address,undefined with keyline::firmware_image; the lead wires
// CMake (KEYLINE_BUILD_FUZZ). Seeds: any keystore from `keyline keystore build`.
//
// Properties checked beyond "no crash":
//  - whatever parses re-encodes to exactly the signed bytes (one content, one encoding), so two
//    different byte strings can never carry the same content past the signature check;
//  - whatever parses passes the content rules the writer enforces.

#include "firmware_image/keystore.h"

#include <cstdint>
#include <cstdlib>

namespace {

// A fixed P-256 public key: the fuzzer cannot forge its signatures, but verifyKeystore's parse,
// key-id and signature paths all run.
const unsigned char kVendorSpki[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x1a, 0xfb, 0x66, 0xe0, 0xe2,
    0xf9, 0xc1, 0x1a, 0x61, 0xd1, 0x7f, 0xbf, 0x8c, 0x13, 0x6e, 0x31, 0xe8, 0x8f, 0xe9, 0x26, 0x44,
    0x5d, 0x58, 0xde, 0x8a, 0xe3, 0x29, 0xd0, 0x22, 0x3b, 0x69, 0xd1, 0x6e, 0x43, 0x39, 0xef, 0x2a,
    0x05, 0x0d, 0xd4, 0xd6, 0x3c, 0x86, 0x07, 0x05, 0xcd, 0x5e, 0x7d, 0x06, 0xc1, 0x7d, 0xac, 0xfa,
    0xf2, 0x25, 0xc5, 0xbc, 0xb9, 0xf8, 0x3a, 0xac, 0x65, 0x3f, 0x2e};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > std::size_t(keyline::firmware::kMaxKeystoreBytes) + 16)
        return 0;
    const QByteArray input(reinterpret_cast<const char*>(data), qsizetype(size));
    const QByteArray vendor =
        QByteArray::fromRawData(reinterpret_cast<const char*>(kVendorSpki), sizeof kVendorSpki);

    auto parsed = keyline::firmware::parseKeystore(input);
    if (parsed.ok()) {
        auto again = keyline::firmware::encodeKeystoreBody(parsed->content, parsed->signerKeyId);
        if (!again.ok() || *again != parsed->signedBytes)
            std::abort(); // the reader accepted something the writer would not produce
    }
    auto verified = keyline::firmware::verifyKeystore(input, vendor);
    if (verified.ok() && !parsed.ok())
        std::abort();
    (void)keyline::firmware::checkEnvironmentKeys(
        parsed.ok() ? parsed->content : keyline::firmware::KeystoreContent{}, {vendor});
    return 0;
}
