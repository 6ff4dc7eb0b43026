#include "sim/registry/registration_request.h"

#include "sim/registry/station_acl.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>

namespace keyline::registry {

namespace {

const QString kDeviceId = QStringLiteral("deviceId");
const QString kCustomerId = QStringLiteral("customerId");
const QString kEnvironment = QStringLiteral("environment");
const QString kChipUid = QStringLiteral("chipUid");
const QString kState = QStringLiteral("state");
const QString kCertificate = QStringLiteral("certificate");

// A required string member; nullopt (and `error` set) if missing or not a string.
std::optional<QString> stringField(const QJsonObject& object, const QString& name,
                                   std::optional<ApiError>& error) {
    const QJsonValue value = object.value(name);
    if (value.isUndefined()) {
        error = badField(name, QStringLiteral("missing"));
        return std::nullopt;
    }
    if (!value.isString()) {
        error = badField(name, QStringLiteral("must be a string"));
        return std::nullopt;
    }
    return value.toString();
}

std::optional<ApiError> checkCertificate(RegistrationRequest& request, const QString& pem,
                                         const CertificateVerifier& deviceCa) {
    if (pem.size() > 8 * 1024)
        return badField(kCertificate, QStringLiteral("longer than 8 KiB"));
    auto ders = certificatesFromPem(pem.toLatin1());
    if (!ders)
        return badField(kCertificate, ders.error().message());
    auto info = describeCertificate(ders->constFirst());
    if (!info)
        return badField(kCertificate, info.error().message());
    if (info->commonName != request.deviceId)
        return badField(kCertificate, QStringLiteral("subject CN \"%1\" is not the deviceId \"%2\"")
                                          .arg(info->commonName, request.deviceId));
    if (info->organization != request.customerId)
        return badField(kCertificate,
                        QStringLiteral("subject O \"%1\" is not the customerId \"%2\"")
                            .arg(info->organization, request.customerId));
    if (info->organizationalUnit != request.environment)
        return badField(kCertificate,
                        QStringLiteral("subject OU \"%1\" is not the environment \"%2\"")
                            .arg(info->organizationalUnit, request.environment));
    if (!info->p256)
        return badField(kCertificate, QStringLiteral("the device key must be EC P-256"));
    if (auto verified = deviceCa.verify(info->der, ders->mid(1)); !verified)
        return badField(kCertificate, QStringLiteral("does not chain to the device root CA: %1")
                                          .arg(verified.error().message()));
    request.certificate = std::move(*info);
    return std::nullopt;
}

} // namespace

ApiError bodyTooLarge(qsizetype size) {
    return {413,
            QStringLiteral("body-too-large"),
            QStringLiteral("the body is %1 bytes; at most %2 are accepted")
                .arg(size)
                .arg(kMaxBodyBytes),
            {}};
}

std::variant<RegistrationRequest, ApiError> parseRegistration(const QByteArray& body,
                                                              const QString& pathCustomer,
                                                              const CertificateVerifier& deviceCa) {
    if (body.size() > kMaxBodyBytes)
        return bodyTooLarge(body.size());
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return ApiError{400,
                        QStringLiteral("bad-json"),
                        QStringLiteral("the body is not JSON: %1 at offset %2")
                            .arg(parseError.errorString())
                            .arg(parseError.offset),
                        {}};
    if (!document.isObject())
        return ApiError{
            400, QStringLiteral("bad-json"), QStringLiteral("the body must be a JSON object"), {}};
    const QJsonObject object = document.object();
    static const QSet<QString> known{kDeviceId, kCustomerId, kEnvironment,
                                     kChipUid,  kState,      kCertificate};
    for (auto it = object.begin(); it != object.end(); ++it)
        if (!known.contains(it.key()))
            return badField(it.key(), QStringLiteral("unknown member"));

    std::optional<ApiError> error;
    RegistrationRequest request;
    const auto deviceId = stringField(object, kDeviceId, error);
    const auto customerId = deviceId ? stringField(object, kCustomerId, error) : std::nullopt;
    const auto environment = customerId ? stringField(object, kEnvironment, error) : std::nullopt;
    const auto chipUid = environment ? stringField(object, kChipUid, error) : std::nullopt;
    const auto state = chipUid ? stringField(object, kState, error) : std::nullopt;
    const auto pem = state ? stringField(object, kCertificate, error) : std::nullopt;
    if (error)
        return *error;

    if (!isValidIdentifier(*deviceId))
        return badField(kDeviceId, QStringLiteral("must be 1-64 of A-Z a-z 0-9 . _ -"));
    if (!isValidIdentifier(*customerId))
        return badField(kCustomerId, QStringLiteral("must be 1-64 of A-Z a-z 0-9 . _ -"));
    if (*customerId != pathCustomer)
        return badField(kCustomerId, QStringLiteral("\"%1\" is not the customer of the path \"%2\"")
                                         .arg(*customerId, pathCustomer));
    if (*environment != QLatin1String("dev") && *environment != QLatin1String("prod"))
        return badField(kEnvironment, QStringLiteral("must be \"dev\" or \"prod\""));
    static const QRegularExpression hex(QStringLiteral("^(?:[0-9a-fA-F]{2}){1,64}\\z"));
    if (!hex.match(*chipUid).hasMatch())
        return badField(kChipUid, QStringLiteral("must be 1-64 bytes as hex"));
    if (*state != QLatin1String("created"))
        return badField(kState, QStringLiteral("a registration is always \"created\""));

    request.deviceId = *deviceId;
    request.customerId = *customerId;
    request.environment = *environment;
    request.chipUid = chipUid->toLower();
    if (auto refused = checkCertificate(request, *pem, deviceCa))
        return *refused;
    return request;
}

} // namespace keyline::registry
