#pragma once

// The station window: top bar (station, screens, who is logged in), the attention banner, and
// the screens Log-in, Order, Run and Audit. It drives the worker (log-in, orders, audit) and
// the run controller (the engine) and only ever receives their answers as queued calls.

#include "db/operator_repository.h"
#include "station/config.h"
#include "station/order_report.h"

#include <QMainWindow>
#include <chrono>
#include <optional>

class QLabel;
class QPushButton;
class QStackedWidget;

namespace keyline::ui {

class AttentionBanner;
class AuditView;
class CreateOrderDialog;
class IdleWatcher;
class LoginView;
class OrdersView;
class RunController;
class RunView;
class StationWorker;

struct StationWindowOptions {
    station::StationConfig config;
    std::chrono::minutes idleLogout{10}; // 0: never
    bool kiosk = false;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(StationWindowOptions options, QWidget* parent = nullptr);
    ~MainWindow() override;

    // For tests and screenshots.
    LoginView* loginView() const { return m_login; }
    OrdersView* ordersView() const { return m_orders; }
    RunView* runView() const { return m_run; }
    AuditView* auditView() const { return m_audit; }
    AttentionBanner* banner() const { return m_banner; }
    RunController* controller() const { return m_controller; }
    StationWorker* worker() const { return m_worker; }
    CreateOrderDialog* createDialog() const { return m_createDialog; }
    IdleWatcher* idleWatcher() const { return m_idle; }
    const std::optional<db::OperatorAccount>& user() const { return m_user; }
    QWidget* currentScreen() const;

    void logOut(const QString& message = QString());
    void showOrders();
    void showAudit();

private:
    QWidget* makeTopBar();
    void logIn(const QString& name, const QString& pin);
    void refreshOrders();
    void refreshAttention();
    void runOrder(const db::Order& order);
    void startOrResume();
    void createOrder();
    void closeOrder(const QString& orderId);
    void exportAudit(const QString& orderId, const QString& dir);
    void onRunEnded(const QString& stopReason, const QString& error, bool paused);
    void refreshRemaining();
    void setScreen(QWidget* screen);
    bool adminAllowedNow();
    bool canAdminister() const;

    StationWindowOptions m_options;
    StationWorker* m_worker;
    RunController* m_controller;
    IdleWatcher* m_idle;
    std::optional<db::OperatorAccount> m_user;
    std::vector<station::OrderSummary> m_orderList;
    bool m_sessionEnded = true; // Stop (not Pause): the next Start begins a new session

    QStackedWidget* m_stack;
    AttentionBanner* m_banner;
    LoginView* m_login;
    OrdersView* m_orders;
    RunView* m_run;
    AuditView* m_audit;
    CreateOrderDialog* m_createDialog = nullptr;
    QLabel* m_userLabel;
    QPushButton* m_navOrders;
    QPushButton* m_navRun;
    QPushButton* m_navAudit;
    QPushButton* m_logout;
};

} // namespace keyline::ui
