#include "station/keystore_report.h"

#include "hsm/ec_util.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

namespace keyline::station {

namespace {

// parseKeystore names the field in its message: "keystore field 'entry[1]': truncated".
QString regionOf(const Error& e) {
    static const QRegularExpression field(QStringLiteral("keystore field '([^']+)'"));
    const auto m = field.match(e.message());
    return m.hasMatch() ? m.captured(1) : QStringLiteral("structure");
}

QString fingerprint(const QByteArray& point) {
    return QStringLiteral("sha256:") + QString::fromLatin1(hsm::sha256(point).toHex().left(16));
}

} // namespace

KeystoreReport oversizedKeystore(const QString& file, qint64 size) {
    KeystoreReport r;
    r.file = file;
    r.region = QStringLiteral("size");
    r.reason = QStringLiteral("%1 bytes, a keystore is at most %2")
                   .arg(size)
                   .arg(firmware::kMaxKeystoreBytes);
    return r;
}

KeystoreReport checkKeystore(const QString& file, const QByteArray& bytes,
                             const QByteArray& vendorKey,
                             const QList<QByteArray>& developmentKeys) {
    KeystoreReport r;
    r.file = file;
    auto parsed = firmware::parseKeystore(bytes);
    if (!parsed) {
        r.region = regionOf(parsed.error());
        r.reason = parsed.error().message();
        return r;
    }
    r.keystore = *parsed;
    auto verified = firmware::verifyKeystore(bytes, vendorKey);
    if (!verified) {
        const Error& e = verified.error();
        if (e.code() != ErrorCode::VerificationFailed) {
            r.usageError = e;
            return r;
        }
        if (e.message().contains(QLatin1String("another key"))) {
            r.region = QStringLiteral("signer_key_id");
            r.reason = e.message() + QStringLiteral("; check --vendor-key, or the key id bytes "
                                                    "were changed");
        } else {
            r.region = QStringLiteral("signature");
            r.reason = e.message() + QStringLiteral(": bytes 0-%1 (header, customer, serial, "
                                                    "entries, signer key id) or the signature "
                                                    "were changed after signing")
                                         .arg(parsed->signedBytes.size() - 1);
        }
        return r;
    }
    if (developmentKeys.isEmpty())
        return r;
    if (auto rule = firmware::checkEnvironmentKeys(parsed->content, developmentKeys); !rule) {
        r.environmentKeys = QStringLiteral("failed");
        r.region = QStringLiteral("entries");
        r.reason = rule.error().message();
        return r;
    }
    r.environmentKeys = QStringLiteral("passed");
    return r;
}

void printKeystoreReport(Cli& cli, const KeystoreReport& r, bool json) {
    const QString result = r.pass() ? QStringLiteral("PASS") : QStringLiteral("FAIL");
    if (json) {
        QJsonObject o{{QStringLiteral("file"), r.file},
                      {QStringLiteral("result"), result},
                      {QStringLiteral("environment_keys"), r.environmentKeys}};
        if (!r.pass()) {
            o.insert(QStringLiteral("region"), r.region);
            o.insert(QStringLiteral("reason"), r.reason);
        }
        if (r.keystore) {
            const auto& c = r.keystore->content;
            o.insert(QStringLiteral("customer"), c.customerId);
            o.insert(QStringLiteral("environment"), firmware::environmentName(c.environment));
            // A string: the serial is 64-bit and JSON numbers are exact only to 2^53.
            o.insert(QStringLiteral("serial"), QString::number(c.serial));
            o.insert(QStringLiteral("signer_key_id"),
                     QString::fromLatin1(r.keystore->signerKeyId.toHex()));
            QJsonArray entries;
            for (const auto& e : c.entries)
                entries.append(QJsonObject{
                    {QStringLiteral("purpose"), firmware::purposeName(e.purpose)},
                    {QStringLiteral("algorithm"), firmware::algorithmName(e.algorithm)},
                    {QStringLiteral("public_key"), QString::fromLatin1(e.publicKey.toHex())}});
            o.insert(QStringLiteral("entries"), entries);
        }
        cli.out << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return;
    }
    cli.out << result << "  keystore " << r.file;
    if (!r.pass())
        cli.out << ": region " << r.region << ": " << r.reason;
    cli.out << "\n";
    if (!r.keystore)
        return;
    const auto& c = r.keystore->content;
    cli.out << "  customer          " << c.customerId << "\n"
            << "  environment       " << firmware::environmentName(c.environment) << "\n"
            << "  serial            " << c.serial << "\n"
            << "  signer key id     " << r.keystore->signerKeyId.toHex() << "\n";
    for (const auto& e : c.entries)
        cli.out << "  " << firmware::purposeName(e.purpose).leftJustified(22)
                << firmware::algorithmName(e.algorithm).leftJustified(11)
                << fingerprint(e.publicKey) << "\n";
    // The environment rule runs only on a keystore whose signature verified.
    if (!r.pass() && r.environmentKeys != QLatin1String("failed"))
        return;
    cli.out << "  environment keys  " << r.environmentKeys
            << (r.environmentKeys == QLatin1String("not-checked")
                    ? " (no development public keys in <data_dir>/export)"
                    : "")
            << "\n";
}

} // namespace keyline::station
