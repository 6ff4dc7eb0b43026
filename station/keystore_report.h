#pragma once

// `keyline keystore verify`: the offline check of a keystore file and how its result is shown
// (PASS, or FAIL naming the region of the file that is wrong; text or stable JSON).

#include "firmware_image/keystore.h"
#include "station/cli.h"

#include <optional>

namespace keyline::station {

struct KeystoreReport {
    QString file;
    // The vendor key itself is unusable: bad usage (exit 2), not a verdict on the keystore.
    std::optional<Error> usageError;
    // Empty when PASS; otherwise the format's field name ("magic", "customer_id", "entry[1]",
    // "entries", "signer_key_id", "signature", "size", …) and what is wrong there.
    QString region;
    QString reason;
    std::optional<firmware::Keystore> keystore;              // whenever the structure parsed
    QString environmentKeys = QStringLiteral("not-checked"); // "passed", "failed"

    bool pass() const { return region.isEmpty() && !usageError; }
};

// Structure, signer key id, signature against `vendorKey` (PEM or DER SPKI), then the
// environment rule against `developmentKeys` when any are known.
KeystoreReport checkKeystore(const QString& file, const QByteArray& bytes,
                             const QByteArray& vendorKey, const QList<QByteArray>& developmentKeys);

// A file larger than any keystore: FAIL in region "size" without reading it.
KeystoreReport oversizedKeystore(const QString& file, qint64 size);

void printKeystoreReport(Cli& cli, const KeystoreReport& report, bool json);

} // namespace keyline::station
