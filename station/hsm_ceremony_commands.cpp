#include "station/hsm_ceremony_commands.h"

#include "hsm/ceremony_image_key.h"
#include "hsm/key_inventory.h"
#include "hsm/x509_sign.h"
#include "station/command_util.h"

namespace keyline::station {

int ceremonyTransportKey(Cli& cli, StationContext& station, const QString& output) {
    if (output.isEmpty())
        return cli.fail(2, QStringLiteral("ceremony transport-key needs -o FILE for the public "
                                          "key"));
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    auto key = hsm::makeTransportKey(**hsm);
    if (!key)
        return failWith(cli, key.error());
    if (auto w = writeOutputFile(output, hsm::toPem(key->publicKeySpki, "PUBLIC KEY")); !w)
        return failWith(cli, w.error());
    cli.out << (key->created ? "generated " : "existing ") << hsm::labels::transportKey
            << " on token " << (*hsm)->tokenLabel() << " (RSA-" << hsm::kTransportKeyBits
            << ", sensitive, non-extractable, unwrap only)\n"
            << "public key written to " << output << "\n"
            << "next: have the key-management HSM wrap the image key under it (RSA-OAEP, "
               "SHA-256, MGF1-SHA-256), then `keyline hsm ceremony import-image-key --wrapped "
               "<file> --expect-kcv <KCV from the minutes>`\n";
    return 0;
}

int ceremonyImportImageKey(Cli& cli, StationContext& station, const QString& wrappedFile,
                           const QString& expectKcv, const QString& oaep) {
    if (wrappedFile.isEmpty())
        return cli.fail(2, QStringLiteral("ceremony import-image-key needs --wrapped FILE"));
    auto hash = hsm::parseOaepHash(oaep);
    if (!hash)
        return failWith(cli, hash.error());
    QByteArray expected;
    if (!expectKcv.isEmpty()) {
        auto kcv = hsm::parseKcv(expectKcv);
        if (!kcv)
            return failWith(cli, kcv.error());
        expected = *kcv;
    }
    // An RSA ciphertext is at most 512 bytes (RSA-4096); anything much larger is not one.
    auto wrapped = readArgumentFile(wrappedFile, QStringLiteral("wrapped image key"), 4096);
    if (!wrapped)
        return failWith(cli, wrapped.error());
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    auto imported = hsm::importImageKey(**hsm, *wrapped, *hash, expected);
    wrapped->fill('\0');
    if (!imported)
        return failWith(cli, imported.error());
    // The KCV is public by design (docs/security-model.md); the key and W are never printed.
    cli.out << "imported " << hsm::labels::imageKey << " on token " << (*hsm)->tokenLabel()
            << " (AES-256, sensitive, leaves only wrapped)\n"
            << "KCV " << QString::fromLatin1(imported->kcv.toHex())
            << (expected.isEmpty() ? " (record it in the ceremony minutes; every station must "
                                     "show the same)\n"
                                   : " (matches --expect-kcv)\n");
    if (imported->transportKeyDestroyed)
        cli.out << "transport key " << hsm::labels::transportKey << " destroyed\n";
    else
        cli.err << "keyline: warning: transport key " << hsm::labels::transportKey
                << " could not be destroyed; remove it with pkcs11-tool --delete-object\n";
    return 0;
}

} // namespace keyline::station
