#include "ui/login_view.h"

#include "ui/station_style.h"

#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace keyline::ui {

LoginView::LoginView(const QString& stationName, QWidget* parent)
    : QWidget(parent)
    , m_id(new QLineEdit(this))
    , m_pin(new QLineEdit(this))
    , m_login(new QPushButton(tr("Log in"), this))
    , m_message(new QLabel(this)) {
    setObjectName(QStringLiteral("loginView"));
    auto* title = new QLabel(tr("Keyline station %1").arg(stationName), this);
    setStyleRole(title, QStringLiteral("title"));
    auto* hint =
        new QLabel(tr("Scan your badge or type your operator ID, then enter your PIN."), this);
    setStyleRole(hint, QStringLiteral("subtitle"));
    hint->setWordWrap(true);

    m_id->setObjectName(QStringLiteral("operatorId"));
    m_id->setPlaceholderText(tr("Operator ID"));
    m_id->setMaxLength(64);
    m_pin->setObjectName(QStringLiteral("pin"));
    m_pin->setPlaceholderText(tr("PIN"));
    m_pin->setEchoMode(QLineEdit::Password);
    m_pin->setMaxLength(64);
    m_login->setObjectName(QStringLiteral("loginButton"));
    setStyleRole(m_login, QStringLiteral("primary"));
    m_login->setMinimumHeight(72);
    m_message->setObjectName(QStringLiteral("loginMessage"));
    m_message->setWordWrap(true);
    setStyleRole(m_message, QStringLiteral("error"));

    auto* form = new QFormLayout;
    form->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    form->setVerticalSpacing(20);
    form->setHorizontalSpacing(20);
    form->addRow(tr("Operator ID"), m_id);
    form->addRow(tr("PIN"), m_pin);

    auto* box = new QWidget(this);
    box->setMaximumWidth(640);
    auto* column = new QVBoxLayout(box);
    column->setSpacing(20);
    column->addWidget(title);
    column->addWidget(hint);
    column->addLayout(form);
    column->addWidget(m_login);
    column->addWidget(m_message);

    auto* outer = new QVBoxLayout(this);
    outer->addStretch(1);
    outer->addWidget(box, 0, Qt::AlignHCenter);
    outer->addStretch(2);

    // A scanner ends the ID with Enter: go on to the PIN, never submit half a log-in.
    connect(m_id, &QLineEdit::returnPressed, this, [this] {
        if (!m_id->text().trimmed().isEmpty())
            m_pin->setFocus();
    });
    connect(m_pin, &QLineEdit::returnPressed, this, &LoginView::submit);
    connect(m_login, &QPushButton::clicked, this, &LoginView::submit);
    setFocusProxy(m_id);
}

void LoginView::submit() {
    const QString id = m_id->text().trimmed();
    if (id.isEmpty()) {
        showError(tr("Enter or scan your operator ID."));
        m_id->setFocus();
        return;
    }
    if (m_pin->text().isEmpty()) {
        showError(tr("Enter your PIN."));
        m_pin->setFocus();
        return;
    }
    m_message->clear();
    Q_EMIT loginRequested(id, m_pin->text());
}

void LoginView::setBusy(bool busy) {
    m_login->setEnabled(!busy);
    m_login->setText(busy ? tr("Checking…") : tr("Log in"));
    m_id->setEnabled(!busy);
    m_pin->setEnabled(!busy);
}

void LoginView::showError(const QString& text) {
    m_message->setText(text);
}

void LoginView::reset(const QString& message) {
    m_id->clear();
    m_pin->clear();
    m_message->setText(message);
    setBusy(false);
    m_id->setFocus();
}

} // namespace keyline::ui
