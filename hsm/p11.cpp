#include "hsm/p11.h"

namespace keyline::hsm {

QString ckrName(CK_RV rv) {
    switch (rv) {
#define KL_CKR(name)                                                                               \
    case name:                                                                                     \
        return QStringLiteral(#name);
        KL_CKR(CKR_OK)
        KL_CKR(CKR_CANCEL)
        KL_CKR(CKR_HOST_MEMORY)
        KL_CKR(CKR_SLOT_ID_INVALID)
        KL_CKR(CKR_GENERAL_ERROR)
        KL_CKR(CKR_FUNCTION_FAILED)
        KL_CKR(CKR_ARGUMENTS_BAD)
        KL_CKR(CKR_ATTRIBUTE_READ_ONLY)
        KL_CKR(CKR_ATTRIBUTE_SENSITIVE)
        KL_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
        KL_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
        KL_CKR(CKR_DATA_INVALID)
        KL_CKR(CKR_DATA_LEN_RANGE)
        KL_CKR(CKR_DEVICE_ERROR)
        KL_CKR(CKR_DEVICE_MEMORY)
        KL_CKR(CKR_DEVICE_REMOVED)
        KL_CKR(CKR_FUNCTION_NOT_SUPPORTED)
        KL_CKR(CKR_KEY_HANDLE_INVALID)
        KL_CKR(CKR_KEY_SIZE_RANGE)
        KL_CKR(CKR_KEY_TYPE_INCONSISTENT)
        KL_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
        KL_CKR(CKR_KEY_NOT_WRAPPABLE)
        KL_CKR(CKR_KEY_UNEXTRACTABLE)
        KL_CKR(CKR_MECHANISM_INVALID)
        KL_CKR(CKR_MECHANISM_PARAM_INVALID)
        KL_CKR(CKR_OBJECT_HANDLE_INVALID)
        KL_CKR(CKR_OPERATION_ACTIVE)
        KL_CKR(CKR_OPERATION_NOT_INITIALIZED)
        KL_CKR(CKR_PIN_INCORRECT)
        KL_CKR(CKR_PIN_INVALID)
        KL_CKR(CKR_PIN_LEN_RANGE)
        KL_CKR(CKR_PIN_LOCKED)
        KL_CKR(CKR_SESSION_CLOSED)
        KL_CKR(CKR_SESSION_COUNT)
        KL_CKR(CKR_SESSION_HANDLE_INVALID)
        KL_CKR(CKR_SESSION_READ_ONLY)
        KL_CKR(CKR_TEMPLATE_INCOMPLETE)
        KL_CKR(CKR_TEMPLATE_INCONSISTENT)
        KL_CKR(CKR_TOKEN_NOT_PRESENT)
        KL_CKR(CKR_TOKEN_NOT_RECOGNIZED)
        KL_CKR(CKR_USER_ALREADY_LOGGED_IN)
        KL_CKR(CKR_USER_NOT_LOGGED_IN)
        KL_CKR(CKR_USER_PIN_NOT_INITIALIZED)
        KL_CKR(CKR_USER_TYPE_INVALID)
        KL_CKR(CKR_WRAPPED_KEY_INVALID)
        KL_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID)
        KL_CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
        KL_CKR(CKR_BUFFER_TOO_SMALL)
        KL_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
        KL_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef KL_CKR
    default:
        return QStringLiteral("CKR_0x%1").arg(qulonglong(rv), 0, 16);
    }
}

Error p11Error(const QString& what, CK_RV rv) {
    ErrorCode code = ErrorCode::Internal;
    QString hint;
    switch (rv) {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        code = ErrorCode::EnvironmentNotReady;
        hint = QStringLiteral(" (the HSM went away: check it is connected, then restart)");
        break;
    // A handle found on this token a moment ago is no longer valid, or the module failed as a
    // whole: the token was removed or re-initialised under the station (SoftHSM2 answers
    // CKR_OBJECT_HANDLE_INVALID and CKR_GENERAL_ERROR when its token folder goes away).
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_GENERAL_ERROR:
        code = ErrorCode::EnvironmentNotReady;
        hint = QStringLiteral(" (the HSM token changed or went away: put the token back, then "
                              "run again)");
        break;
    case CKR_PIN_INCORRECT:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_PIN_LOCKED:
        code = ErrorCode::EnvironmentNotReady;
        hint = QStringLiteral(" (the token's login was lost or its PIN changed: check [hsm] pin "
                              "in keyline.conf, then run again; a locked PIN needs the security "
                              "officer)");
        break;
    case CKR_DEVICE_MEMORY:
    case CKR_SESSION_COUNT:
    case CKR_HOST_MEMORY:
        code = ErrorCode::EnvironmentNotReady;
        break;
    default:
        break;
    }
    return Error(code, what + QStringLiteral(" failed: ") + ckrName(rv) + hint, int(rv));
}

Template& Template::add(CK_ATTRIBUTE_TYPE type, bool value) {
    const CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
    return add(type, QByteArray(reinterpret_cast<const char*>(&b), sizeof b));
}

Template& Template::add(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
    return add(type, QByteArray(reinterpret_cast<const char*>(&value), sizeof value));
}

Template& Template::add(CK_ATTRIBUTE_TYPE type, const QByteArray& value) {
    m_types.push_back(type);
    m_values.push_back(value);
    return *this;
}

Template& Template::addText(CK_ATTRIBUTE_TYPE type, const QString& value) {
    return add(type, value.toUtf8());
}

CK_ATTRIBUTE* Template::data() {
    // Built on demand: m_values may have reallocated while adding, so pointers are taken last.
    m_attrs.clear();
    for (std::size_t i = 0; i < m_types.size(); ++i) {
        CK_ATTRIBUTE a{};
        a.type = m_types[i];
        a.pValue = m_values[i].isEmpty() ? nullptr : m_values[i].data();
        a.ulValueLen = CK_ULONG(m_values[i].size());
        m_attrs.push_back(a);
    }
    return m_attrs.data();
}

QString paddedText(const unsigned char* text, std::size_t size) {
    return QString::fromUtf8(reinterpret_cast<const char*>(text), qsizetype(size)).trimmed();
}

QByteArray p256Params() {
    static const unsigned char oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    return QByteArray(reinterpret_cast<const char*>(oid), sizeof oid);
}

} // namespace keyline::hsm
