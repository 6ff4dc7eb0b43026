#include "sim/device_store.h"

#include "sim/atomic_file.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::sim {
namespace {

QString b64(const QByteArray& bytes) {
    return QString::fromLatin1(bytes.toBase64());
}

QByteArray unb64(const QJsonValue& v) {
    return QByteArray::fromBase64(v.toString().toLatin1());
}

Result<QJsonObject> readJsonObject(const QString& path) {
    KL_TRY_ASSIGN(QByteArray bytes, readWholeFile(path));
    QJsonParseError parseError;
    QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (!doc.isObject())
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("%1 is not a JSON object: %2").arg(path, parseError.errorString()));
    return doc.object();
}

Result<void> writeJsonObject(const QString& path, const QJsonObject& object,
                             Durability durability = Durability::Host) {
    // Compact: a device rewrites its state a dozen times while it is provisioned.
    return writeFileAtomically(path, QJsonDocument(object).toJson(QJsonDocument::Compact), true,
                               durability);
}

} // namespace

QString DeviceStore::receivingImagePath() const {
    return QDir(m_directory).filePath(QStringLiteral("flash-receiving.img"));
}

QString DeviceStore::installedImagePath() const {
    return QDir(m_directory).filePath(QStringLiteral("flash-installed.img"));
}

Result<DeviceState> DeviceStore::loadState() const {
    KL_TRY_ASSIGN(QJsonObject o,
                  readJsonObject(QDir(m_directory).filePath(QStringLiteral("device.json"))));
    DeviceState s;
    s.chipUid = QByteArray::fromHex(o.value(QLatin1String("chipUid")).toString().toLatin1());
    s.chipKeyPem = o.value(QLatin1String("chipKeyPem")).toString().toLatin1();
    s.chipCertificate = unb64(o.value(QLatin1String("chipCertificate")));
    s.counterfeit = o.value(QLatin1String("counterfeit")).toBool();
    s.locked = o.value(QLatin1String("locked")).toBool();
    s.otpKey = unb64(o.value(QLatin1String("otpKey")));
    for (const QJsonValue& w : o.value(QLatin1String("otpBurnRequests")).toArray())
        s.otpBurnRequests.append(unb64(w));
    s.keystore = unb64(o.value(QLatin1String("keystore")));
    s.deviceKeyPem = o.value(QLatin1String("deviceKeyPem")).toString().toLatin1();
    const QJsonArray chain = o.value(QLatin1String("certificateChain")).toArray();
    for (const QJsonValue& c : chain)
        s.certificateChain.append(unb64(c));
    const QJsonArray fired = o.value(QLatin1String("firedFaults")).toArray();
    for (const QJsonValue& f : fired)
        s.firedFaults.append(f.toString());
    s.osCounter = o.value(QLatin1String("osCounter")).toString().toULongLong();
    s.appCounter = o.value(QLatin1String("appCounter")).toString().toULongLong();
    if (s.chipUid.isEmpty() || s.chipKeyPem.isEmpty() || s.chipCertificate.isEmpty())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("%1/device.json lacks the chip identity").arg(m_directory));
    return s;
}

Result<void> DeviceStore::saveState(const DeviceState& s) const {
    QJsonArray chain;
    for (const QByteArray& c : s.certificateChain)
        chain.append(b64(c));
    QJsonArray burnRequests;
    for (const QByteArray& w : s.otpBurnRequests)
        burnRequests.append(b64(w));
    QJsonObject o{
        {QStringLiteral("chipUid"), QString::fromLatin1(s.chipUid.toHex())},
        {QStringLiteral("chipKeyPem"), QString::fromLatin1(s.chipKeyPem)},
        {QStringLiteral("chipCertificate"), b64(s.chipCertificate)},
        {QStringLiteral("counterfeit"), s.counterfeit},
        {QStringLiteral("locked"), s.locked},
        {QStringLiteral("otpKey"), b64(s.otpKey)},
        {QStringLiteral("otpBurnRequests"), burnRequests},
        {QStringLiteral("keystore"), b64(s.keystore)},
        {QStringLiteral("deviceKeyPem"), QString::fromLatin1(s.deviceKeyPem)},
        {QStringLiteral("certificateChain"), chain},
        {QStringLiteral("firedFaults"), QJsonArray::fromStringList(s.firedFaults)},
        // As strings: a JSON number is a double and would round counters above 2^53.
        {QStringLiteral("osCounter"), QString::number(s.osCounter)},
        {QStringLiteral("appCounter"), QString::number(s.appCounter)},
    };
    return writeJsonObject(QDir(m_directory).filePath(QStringLiteral("device.json")), o,
                           m_durability);
}

Result<FlashRecord> DeviceStore::loadFlash() const {
    const QString path = QDir(m_directory).filePath(QStringLiteral("flash.json"));
    if (!QFile::exists(path))
        return FlashRecord{};
    KL_TRY_ASSIGN(QJsonObject o, readJsonObject(path));
    FlashRecord r;
    int transfer = o.value(QLatin1String("transfer")).toInt();
    if (transfer < 0 || transfer > 4 || transfer == int(protocol::FlashState::Installed))
        return Error(ErrorCode::BadInput, QStringLiteral("%1: bad transfer state").arg(path));
    r.transfer = static_cast<protocol::FlashState>(transfer);
    // JSON numbers are doubles; sizes travel as strings to stay exact above 2^53.
    r.totalSize = o.value(QLatin1String("totalSize")).toString().toULongLong();
    r.durableOffset = o.value(QLatin1String("durableOffset")).toString().toULongLong();
    r.sha256 = QByteArray::fromHex(o.value(QLatin1String("sha256")).toString().toLatin1());
    r.installedSize = o.value(QLatin1String("installedSize")).toString().toULongLong();
    r.installedSha256 =
        QByteArray::fromHex(o.value(QLatin1String("installedSha256")).toString().toLatin1());
    return r;
}

Result<void> DeviceStore::saveFlash(const FlashRecord& r) const {
    QJsonObject o{
        {QStringLiteral("transfer"), int(r.transfer)},
        {QStringLiteral("transferName"), protocol::flashStateName(r.transfer)},
        {QStringLiteral("totalSize"), QString::number(r.totalSize)},
        {QStringLiteral("durableOffset"), QString::number(r.durableOffset)},
        {QStringLiteral("sha256"), QString::fromLatin1(r.sha256.toHex())},
        {QStringLiteral("installedSize"), QString::number(r.installedSize)},
        {QStringLiteral("installedSha256"), QString::fromLatin1(r.installedSha256.toHex())},
    };
    // The flash record moves with the image bytes, which are not fsynced either: both survive
    // the simulator being killed, which is the power loss the virtual device models.
    return writeJsonObject(QDir(m_directory).filePath(QStringLiteral("flash.json")), o,
                           Durability::Process);
}

} // namespace keyline::sim
