import Prometheus
import SkiffCore
import SkiffSiteProtocol

/// The site's Prometheus metrics, in two registries (docs/PROTOCOL.md, `GET /metrics`):
/// - `aggregate`: site-wide series with no tenant or host names, served to anyone;
/// - `detail`: the same per tenant (its name) and host, under `skiff_site_tenant_…` names,
///   served only with an administrator's token.
/// So an anonymous client learns how busy the site is, not who its tenants are.
package struct SiteMetrics: Sendable {
    let aggregate = PrometheusCollectorRegistry()
    let detail = PrometheusCollectorRegistry()

    package init() {}

    /// The text format of the aggregate series, and of the per-tenant ones when `detailed`.
    package func text(detailed: Bool) -> [UInt8] {
        detailed ? aggregate.emitToBuffer() + detail.emitToBuffer() : aggregate.emitToBuffer()
    }

    private func count(_ name: String, by amount: Int = 1, tenant: String? = nil, host: String? = nil) {
        aggregate.makeCounter(name: "skiff_site_\(name)").increment(by: Int64(amount))
        guard let tenant else { return }
        var labels = [("tenant", tenant)]
        if let host { labels.append(("host", host)) }
        detail.makeCounter(name: "skiff_site_tenant_\(name)", labels: labels).increment(by: Int64(amount))
    }

    private func tenantGauge(_ name: String, tenant: String, host: String? = nil, _ value: Double) {
        var labels = [("tenant", tenant)]
        if let host { labels.append(("host", host)) }
        detail.makeGauge(name: "skiff_site_tenant_\(name)", labels: labels).set(value)
    }

    func objectStored(tenant: String, bytes: Int) {
        count("objects_stored_total", tenant: tenant)
        count("bytes_stored_total", by: bytes, tenant: tenant)
    }

    func objectRepaired(tenant: String) { count("objects_repaired_total", tenant: tenant) }

    func scrubbed(tenant: String, objects: Int, bytes: Int) {
        count("scrub_objects_total", by: objects, tenant: tenant)
        count("scrub_bytes_total", by: bytes, tenant: tenant)
    }

    func quarantined(tenant: String) { count("objects_quarantined_total", tenant: tenant) }

    func scrubPassCompleted(tenant: String, seconds: Double, at time: Double) {
        tenantGauge("scrub_last_pass_seconds", tenant: tenant, seconds)
        tenantGauge("scrub_last_pass_completed_time_seconds", tenant: tenant, time)
    }

    func sealRetired(tenant: String) { count("seals_retired_total", tenant: tenant) }

    /// A lost or damaged seal stored again after it was checked as at first acceptance.
    func sealRecovered(tenant: String) { count("seals_recovered_total", tenant: tenant) }

    func collected(_ report: CollectionReport, at time: Double) {
        count("gc_runs_total", tenant: report.tenant)
        count("gc_objects_deleted_total", by: report.deletedObjects, tenant: report.tenant)
        count("gc_bytes_deleted_total", by: report.deletedBytes, tenant: report.tenant)
        tenantGauge("gc_last_duration_seconds", tenant: report.tenant, report.seconds)
        tenantGauge("gc_last_run_completed_time_seconds", tenant: report.tenant, time)
        tenantGauge("gc_reachable_objects", tenant: report.tenant, Double(report.reachable))
    }

    /// A refused request, by its code (docs/PROTOCOL.md, "Errors").
    func rejected(code: SiteErrorCode) {
        aggregate.makeCounter(name: "skiff_site_refusals_total", labels: [("code", code.rawValue)]).increment()
    }

    func sealAccepted(tenant: String, host: String, time: Timestamp) {
        count("seals_accepted_total", tenant: tenant, host: host)
        tenantGauge("newest_seal_time_seconds", tenant: tenant, host: host, Double(time.seconds))
    }

    static let durationBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120].map { .milliseconds(Int($0 * 1000)) }

    func request(route: String, status: Int, seconds: Double) {
        aggregate.makeCounter(name: "skiff_site_requests_total", labels: [("route", route), ("status", "\(status)")]).increment()
        aggregate.makeDurationHistogram(name: "skiff_site_request_duration_seconds", labels: [("route", route)], buckets: Self.durationBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// A request with a token the site does not know (or none where one is needed).
    func authenticationFailed() { aggregate.makeCounter(name: "skiff_site_auth_failures_total").increment() }

    /// A request refused unread because its address failed authentication too often.
    func authenticationThrottled() { aggregate.makeCounter(name: "skiff_site_auth_throttled_total").increment() }

    /// Addresses currently refused for failing authentication too often.
    func throttledAddresses(_ count: Int) { aggregate.makeGauge(name: "skiff_site_auth_throttled_addresses").set(Double(count)) }

    /// Request body bytes reserved now, the most ever at once, and the budget they share.
    func bodyMemory(inUse: Int, peak: Int, budget: Int) {
        aggregate.makeGauge(name: "skiff_site_body_bytes_in_flight").set(Double(inUse))
        aggregate.makeGauge(name: "skiff_site_body_bytes_in_flight_peak").set(Double(peak))
        aggregate.makeGauge(name: "skiff_site_body_bytes_budget").set(Double(budget))
    }

    /// A request that waited for room in the body budget, and one refused after waiting.
    func bodyWaited() { aggregate.makeCounter(name: "skiff_site_body_waits_total").increment() }
    func bodyRefused() { aggregate.makeCounter(name: "skiff_site_body_refusals_total").increment() }

    /// A connection closed because its client sent too slowly or took too long.
    func slowClientClosed(reason: String) {
        aggregate.makeCounter(name: "skiff_site_slow_clients_closed_total", labels: [("reason", reason)]).increment()
    }

    /// A tenant's use against its quotas (nil: no quota).
    func usage(tenant: String, _ usage: TenantUsage, quota: TenantQuota) {
        tenantGauge("stored_bytes", tenant: tenant, Double(usage.storedBytes))
        tenantGauge("stored_objects", tenant: tenant, Double(usage.storedObjects))
        tenantGauge("unsealed_bytes", tenant: tenant, Double(usage.unsealedBytes))
        tenantGauge("quota_stored_bytes", tenant: tenant, quota.storedBytes.map(Double.init) ?? -1)
        tenantGauge("quota_unsealed_bytes", tenant: tenant, quota.unsealedBytes.map(Double.init) ?? -1)
    }

    /// Bytes stored in every tenant together.
    func storedTotal(bytes: Int, objects: Int) {
        aggregate.makeGauge(name: "skiff_site_stored_bytes").set(Double(bytes))
        aggregate.makeGauge(name: "skiff_site_stored_objects").set(Double(objects))
    }
}
