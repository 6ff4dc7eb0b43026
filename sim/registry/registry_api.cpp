#include "sim/registry/registry_api.h"

#include "sim/registry/registration_request.h"

#include <QDateTime>
#include <QJsonArray>

namespace keyline::registry {

namespace {

using Role = ClientIdentity::Role;

QString nowUtc() {
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

ApiResponse storeFailed(const Error& error) {
    return errorResponse({500, QStringLiteral("storage"), error.toString(), {}});
}

ApiResponse notFound(const QString& what) {
    return errorResponse({404, QStringLiteral("not-found"), what, {}});
}

ApiResponse ok(int status, QJsonObject body) {
    return {status, std::move(body), {}};
}

ApiResponse notServed(const ClientIdentity& client, const QString& customer) {
    if (client.role == Role::Device)
        return errorResponse(forbidden(QStringLiteral("this endpoint is for stations")));
    return errorResponse(forbidden(QStringLiteral("station \"%1\" does not serve customer \"%2\"")
                                       .arg(client.name, customer)));
}

} // namespace

ApiResponse errorResponse(const ApiError& error) {
    QJsonObject body{{QStringLiteral("error"), error.code},
                     {QStringLiteral("message"), error.message}};
    if (!error.field.isEmpty())
        body.insert(QStringLiteral("field"), error.field);
    return {error.status, body, {}};
}

RegistryApi::RegistryApi(const IdentityResolver& identities, RegistryStore& store,
                         BootstrapSettings settings)
    : m_identities(identities)
    , m_store(store)
    , m_settings(std::move(settings)) {}

ApiResponse RegistryApi::handle(const ApiRequest& request) {
    const auto resolved = m_identities.resolve(request.clientChain);
    if (const auto* refused = std::get_if<ApiError>(&resolved))
        return errorResponse(*refused);
    const ClientIdentity& client = std::get<ClientIdentity>(resolved);

    // /v1/customers/{customer}/devices[/{device}[/bootstrap]] and /v1/whoami
    const QStringList parts = request.path.split(QLatin1Char('/'));
    const bool get = request.method == QLatin1String("GET");
    const bool post = request.method == QLatin1String("POST");
    auto allow = [](const QString& methods) {
        return errorResponse({405,
                              QStringLiteral("method-not-allowed"),
                              QStringLiteral("allowed here: %1").arg(methods),
                              {}});
    };
    if (parts == QStringList{QString(), QStringLiteral("v1"), QStringLiteral("whoami")})
        return get ? whoami(client) : allow(QStringLiteral("GET"));
    const bool devices = parts.size() >= 5 && parts.size() <= 7 && parts[0].isEmpty() &&
                         parts[1] == QLatin1String("v1") &&
                         parts[2] == QLatin1String("customers") &&
                         parts[4] == QLatin1String("devices");
    if (!devices || (parts.size() == 7 && parts[6] != QLatin1String("bootstrap")))
        return notFound(QStringLiteral("no such endpoint: %1").arg(request.path));
    const QString& customer = parts[3];
    if (!isValidIdentifier(customer))
        return notFound(QStringLiteral("\"%1\" is not a customer ID").arg(customer));
    if (parts.size() == 5) {
        if (post)
            return registerDevice(client, customer, request);
        return get ? listDevices(client, customer, request.query)
                   : allow(QStringLiteral("GET, POST"));
    }
    const QString& device = parts[5];
    if (!isValidIdentifier(device))
        return notFound(QStringLiteral("\"%1\" is not a device ID").arg(device));
    if (parts.size() == 6)
        return get ? readDevice(client, customer, device) : allow(QStringLiteral("GET"));
    if (request.body.size() > kMaxBodyBytes)
        return errorResponse(bodyTooLarge(request.body.size()));
    return post ? bootstrap(client, customer, device) : allow(QStringLiteral("POST"));
}

ApiResponse RegistryApi::registerDevice(const ClientIdentity& client, const QString& customer,
                                        const ApiRequest& http) {
    if (!m_identities.stationServes(client, customer))
        return notServed(client, customer);
    if (http.body.size() > kMaxBodyBytes) // before anything else about the body
        return errorResponse(bodyTooLarge(http.body.size()));
    // Strict about the media type too: a form-encoded body is a client bug, not JSON by luck.
    const QByteArray mediaType = http.contentType.split(';').constFirst().trimmed().toLower();
    if (mediaType != "application/json")
        return errorResponse({415,
                              QStringLiteral("unsupported-media-type"),
                              QStringLiteral("Content-Type must be application/json"),
                              {}});
    auto parsed = parseRegistration(http.body, customer, m_identities.deviceCa());
    if (const auto* refused = std::get_if<ApiError>(&parsed))
        return errorResponse(*refused);
    const RegistrationRequest& request = std::get<RegistrationRequest>(parsed);

    auto existing = m_store.find(customer, request.deviceId);
    if (!existing)
        return storeFailed(existing.error());
    if (*existing) {
        const DeviceRecord& record = **existing;
        if (certificateSha256(record) != request.certificate.sha256)
            return errorResponse(
                {409, QStringLiteral("conflict"),
                 QStringLiteral("device \"%1\" is registered with another "
                                "certificate (SHA-256 %2)")
                     .arg(request.deviceId, QString::fromLatin1(certificateSha256(record).toHex())),
                 QStringLiteral("certificate")});
        if (record.chipUid != request.chipUid)
            return errorResponse({409, QStringLiteral("conflict"),
                                  QStringLiteral("device \"%1\" is registered with chip UID %2")
                                      .arg(request.deviceId, record.chipUid),
                                  QStringLiteral("chipUid")});
        return ok(200, toJson(record)); // the outbox retried a registration that had landed
    }
    DeviceRecord record;
    record.customerId = customer;
    record.deviceId = request.deviceId;
    record.environment = request.environment;
    record.chipUid = request.chipUid;
    record.state = QStringLiteral("created");
    record.certificateDer = request.certificate.der;
    record.registeredBy = client.name;
    record.createdAt = nowUtc();
    if (auto inserted = m_store.insert(record); !inserted)
        return storeFailed(inserted.error());
    ApiResponse response = ok(201, toJson(record));
    response.location =
        QStringLiteral("/v1/customers/%1/devices/%2").arg(customer, record.deviceId);
    return response;
}

ApiResponse RegistryApi::readDevice(const ClientIdentity& client, const QString& customer,
                                    const QString& device) {
    const bool itself =
        client.role == Role::Device && client.customer == customer && client.name == device;
    if (!itself && !m_identities.stationServes(client, customer))
        return client.role == Role::Device
                   ? errorResponse(forbidden(QStringLiteral("a device may only read itself")))
                   : notServed(client, customer);
    auto found = m_store.find(customer, device);
    if (!found)
        return storeFailed(found.error());
    if (!*found)
        return notFound(QStringLiteral("device \"%1\" of customer \"%2\" is not registered")
                            .arg(device, customer));
    return ok(200, toJson(**found));
}

ApiResponse RegistryApi::listDevices(const ClientIdentity& client, const QString& customer,
                                     const QUrlQuery& query) {
    if (!m_identities.stationServes(client, customer))
        return notServed(client, customer);
    const QString state = query.queryItemValue(QStringLiteral("state"));
    if (!state.isEmpty() && state != QLatin1String("created") &&
        state != QLatin1String("bootstrapped"))
        return errorResponse(
            badField(QStringLiteral("state"), QStringLiteral("must be created or bootstrapped")));
    auto records = m_store.list(customer, state);
    if (!records)
        return storeFailed(records.error());
    QJsonArray array;
    for (const DeviceRecord& record : *records)
        array.append(toJson(record));
    return ok(200, {{QStringLiteral("customerId"), customer},
                    {QStringLiteral("count"), static_cast<int>(array.size())},
                    {QStringLiteral("devices"), array}});
}

ApiResponse RegistryApi::bootstrap(const ClientIdentity& client, const QString& customer,
                                   const QString& device) {
    if (client.role != Role::Device || client.customer != customer || client.name != device)
        return errorResponse(forbidden(
            QStringLiteral(
                "a device may only bootstrap itself, with its own certificate (CN=%1, O=%2)")
                .arg(device, customer)));
    auto found = m_store.find(customer, device);
    if (!found)
        return storeFailed(found.error());
    if (!*found)
        return notFound(QStringLiteral("device \"%1\" of customer \"%2\" is not registered")
                            .arg(device, customer));
    DeviceRecord record = **found;
    if (certificateSha256(record) != client.certificateSha256)
        return errorResponse(forbidden(
            QStringLiteral("this certificate is not the one registered for \"%1\"").arg(device)));
    if (record.state == QLatin1String("created")) {
        record.state = QStringLiteral("bootstrapped");
        record.bootstrappedAt = nowUtc();
        if (auto marked = m_store.markBootstrapped(customer, device, record.bootstrappedAt);
            !marked)
            return storeFailed(marked.error());
    }
    const QString base =
        QStringLiteral("%1/v1/customers/%2/devices/%3").arg(m_settings.publicUrl, customer, device);
    const QJsonObject configuration{
        {QStringLiteral("customerId"), customer},
        {QStringLiteral("deviceId"), device},
        {QStringLiteral("environment"), record.environment},
        {QStringLiteral("deviceUrl"), base},
        {QStringLiteral("telemetryUrl"), base + QStringLiteral("/telemetry")},
        {QStringLiteral("updatesUrl"), base + QStringLiteral("/updates")},
        {QStringLiteral("telemetryIntervalSeconds"), m_settings.telemetryIntervalSeconds},
    };
    return ok(200, {{QStringLiteral("device"), toJson(record)},
                    {QStringLiteral("configuration"), configuration}});
}

ApiResponse RegistryApi::whoami(const ClientIdentity& client) const {
    QJsonObject body{{QStringLiteral("name"), client.name}};
    if (client.role == Role::Station) {
        body.insert(QStringLiteral("role"), QStringLiteral("station"));
        body.insert(QStringLiteral("customers"),
                    QJsonArray::fromStringList(m_identities.customersOf(client)));
    } else {
        body.insert(QStringLiteral("role"), QStringLiteral("device"));
        body.insert(QStringLiteral("customerId"), client.customer);
    }
    return ok(200, body);
}

} // namespace keyline::registry
