#pragma once

// Internal: header and manifest encoding shared by the writer and the verifiers.

#include "firmware_image/package_internal.h"

namespace keyline::firmware::pkg {

struct PackageHeader {
    Environment environment = Environment::Development;
    bool manifestSigned = false;
    quint32 manifestLength = 0;
    quint64 osLength = 0;
    quint64 appLength = 0;
    quint64 packageLength = 0;
};

QByteArray encodeHeader(const PackageHeader& h);             // kPackageHeaderBytes
qint64 packageLengthFor(const PackageHeader& h);             // the sum of the region lengths
Result<QByteArray> encodeManifest(const PackageManifest& m); // with its check digest

// parsePackage's implementation.
Result<PackageLayout> parseLayout(QByteArrayView bytes);

// AAD of the OS encryption: every byte before the IV (header, manifest, signatures).
inline QByteArrayView aadOf(QByteArrayView bytes, const PackageLayout& l) {
    return bytes.first(l.spans.osIv.offset);
}
// What the development manifest signature covers (after its context string).
inline QByteArrayView signedManifestOf(QByteArrayView bytes, const PackageLayout& l) {
    return bytes.first(l.spans.manifest.offset + l.spans.manifest.size);
}

} // namespace keyline::firmware::pkg

namespace keyline::firmware::pkg {

// Hashes the OS plaintext component by component, whatever the chunk boundaries.
class ComponentHasher {
public:
    explicit ComponentHasher(const std::vector<OsComponentEntry>& components);
    void feed(QByteArrayView plaintext);
    // Measured hashes, in manifest order (valid once every byte was fed).
    std::vector<QByteArray> finish();

private:
    const std::vector<OsComponentEntry>& m_components;
    std::size_t m_index = 0;
    quint64 m_left = 0;
    std::unique_ptr<Sha256> m_hash;
    std::vector<QByteArray> m_done;
};

// The checks that need the keystore but not the image key, shared by the device and the
// station, in the order the spec gives: customer, environment, the application signature
// (signer key id, then the signature), the development manifest signature, the application
// hash.
Result<void> checkAgainstKeystore(QByteArrayView bytes, const PackageLayout& l,
                                  const KeystoreContent& keystore);

// Which region a failed tag points at, from the measured component hashes.
Error osFailure(const PackageLayout& l, const std::vector<QByteArray>& measured, bool tagOk);

} // namespace keyline::firmware::pkg
