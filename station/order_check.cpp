#include "station/order_check.h"

#include "flashing/flash_writer.h"
#include "station/development_keys.h"
#include "station/package_sealer.h"

#include <QDir>
#include <QFile>

namespace keyline::station {

namespace {

Error mixRefused(const QString& what) {
    return Error(ErrorCode::Refused, what);
}

Result<QByteArray> readOrderFile(const QString& path, const QString& expectedSha256Hex) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the order's file %1 is missing (%2): the data directory was "
                                    "changed; restore it from a backup")
                         .arg(path, f.errorString()));
    QByteArray bytes = f.readAll();
    const QString actual = QString::fromLatin1(flashing::sha256(bytes).toHex());
    // The station's own copy went bad on disk (or was edited): like a missing file, the data
    // directory is not fit to run from, so exit 3 and no device is touched.
    if (actual != expectedSha256Hex)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the order's file %1 has SHA-256 %2, the order recorded %3: "
                                    "it was changed after the order was created; restore it "
                                    "from a backup")
                         .arg(path, actual, expectedSha256Hex));
    return bytes;
}

} // namespace

QString orderKeystorePath(const StationContext& context, const QString& orderId) {
    return QDir(context.orderDir(orderId)).filePath(QStringLiteral("keystore.ks"));
}

QString orderPackagePath(const StationContext& context, const QString& orderId) {
    return QDir(context.orderDir(orderId)).filePath(QStringLiteral("package.klpk"));
}

Result<void> checkOrderMaterial(const StationContext& context, hsm::Hsm& hsm,
                                const OrderMaterial& m) {
    const bool prod = m.environment == firmware::Environment::Production;
    const QString env = firmware::environmentName(m.environment);
    KL_TRY_ASSIGN(const QByteArray vendorKey, hsm.publicKey(context.config().keystoreSigningKey));
    KL_TRY_ASSIGN(const firmware::Keystore keystore,
                  firmware::verifyKeystore(m.keystore, vendorKey));
    if (keystore.content.customerId != m.customerId)
        return mixRefused(QStringLiteral("the keystore is customer '%1''s, the order is for '%2'")
                              .arg(keystore.content.customerId, m.customerId));
    if (keystore.content.environment != m.environment)
        return mixRefused(QStringLiteral("the keystore is a %1 keystore, the order is %2")
                              .arg(firmware::environmentName(keystore.content.environment), env));
    const QList<QByteArray> devKeys = knownDevelopmentKeys(&hsm, context.exportDir());
    if (auto rule = firmware::checkEnvironmentKeys(keystore.content, devKeys); !rule)
        return mixRefused(rule.error().message());

    // Whose and which environment's package it is, from its structure, before any signature:
    // a mix is named as a mix, not as a signature that does not verify.
    KL_TRY_ASSIGN(const firmware::PackageLayout layout, firmware::parsePackage(m.package));
    if (layout.manifest.customerId != m.customerId)
        return mixRefused(QStringLiteral("the package is customer '%1''s, the order is for '%2'")
                              .arg(layout.manifest.customerId, m.customerId));
    if (layout.manifest.environment != m.environment)
        return mixRefused(QStringLiteral("the package is a %1 package, the order is %2")
                              .arg(firmware::environmentName(layout.manifest.environment), env));

    firmware::StationVerifyOptions options;
    options.keystore = m.keystore;
    options.vendorKey = vendorKey;
    options.developmentKeys = devKeys;
    HsmOsOpener opener(hsm, context.config().imageKey);
    options.opener = &opener;
    const firmware::StationVerifyReport report = firmware::verifyPackage(m.package, options);
    if (!report.pass()) {
        Error e = *report.failure;
        const auto region = firmware::regionOf(e);
        if (region == firmware::PackageRegion::Environment ||
            region == firmware::PackageRegion::Customer)
            return mixRefused(e.message());
        return e.withContext(QStringLiteral("the package does not verify"));
    }
    // Last, so each mix above is named as such. The issuing CA of a development token is the
    // development CA.
    if (prod && context.usesDevToken())
        return mixRefused(
            QStringLiteral(
                "a production order cannot use the development CA (HSM token '%1'): configure the "
                "production HSM in [hsm] (docs/key-inventory.md)")
                .arg(context.config().hsmToken));
    return success();
}

Result<provisioning::OrderPlan> loadOrderPlan(const StationContext& context,
                                              const db::Order& order) {
    provisioning::OrderPlan plan;
    plan.orderId = order.id;
    plan.customerId = order.customerId;
    plan.environment = order.environment == db::Environment::Production
                           ? firmware::Environment::Production
                           : firmware::Environment::Development;
    plan.quantity = order.quantity;
    KL_TRY_ASSIGN(plan.keystore,
                  readOrderFile(orderKeystorePath(context, order.id), order.keystoreSha256));
    plan.keystoreSha256 = flashing::sha256(plan.keystore);
    KL_TRY_ASSIGN(QByteArray package, readOrderFile(order.packagePath, order.packageSha256));
    plan.package = flashing::FlashImage::of(std::move(package));
    KL_TRY_ASSIGN(plan.expected, provisioning::expectedBootOf(plan.package));
    plan.certificateProfile.customerId = order.customerId;
    plan.certificateProfile.environment = firmware::environmentName(plan.environment);
    return plan;
}

} // namespace keyline::station
