import Metrics
import SkiffCore
import SkiffSiteProtocol

/// The site's Prometheus metrics, through swift-metrics (bootstrapped by the server with
/// the Prometheus factory). Metric names are documented in docs/PROTOCOL.md.
package struct SiteMetrics: Sendable {
    package init() {}

    func objectStored(tenant: String, bytes: Int) {
        Counter(label: "skiff_site_objects_stored_total", dimensions: [("tenant", tenant)]).increment()
        Counter(label: "skiff_site_bytes_stored_total", dimensions: [("tenant", tenant)]).increment(by: bytes)
    }

    func objectRepaired(tenant: String) {
        Counter(label: "skiff_site_objects_repaired_total", dimensions: [("tenant", tenant)]).increment()
    }

    func scrubbed(tenant: String, objects: Int, bytes: Int) {
        Counter(label: "skiff_site_scrub_objects_total", dimensions: [("tenant", tenant)]).increment(by: objects)
        Counter(label: "skiff_site_scrub_bytes_total", dimensions: [("tenant", tenant)]).increment(by: bytes)
    }

    func quarantined(tenant: String) {
        Counter(label: "skiff_site_objects_quarantined_total", dimensions: [("tenant", tenant)]).increment()
    }

    func scrubPassCompleted(tenant: String, seconds: Double, at time: Double) {
        Gauge(label: "skiff_site_scrub_last_pass_seconds", dimensions: [("tenant", tenant)]).record(seconds)
        Gauge(label: "skiff_site_scrub_last_pass_completed_time_seconds", dimensions: [("tenant", tenant)]).record(time)
    }

    func sealRetired(tenant: String) {
        Counter(label: "skiff_site_seals_retired_total", dimensions: [("tenant", tenant)]).increment()
    }

    func collected(_ report: CollectionReport, at time: Double) {
        let tenant = [("tenant", report.tenant)]
        Counter(label: "skiff_site_gc_runs_total", dimensions: tenant).increment()
        Counter(label: "skiff_site_gc_objects_deleted_total", dimensions: tenant).increment(by: report.deletedObjects)
        Counter(label: "skiff_site_gc_bytes_deleted_total", dimensions: tenant).increment(by: report.deletedBytes)
        Gauge(label: "skiff_site_gc_last_duration_seconds", dimensions: tenant).record(report.seconds)
        Gauge(label: "skiff_site_gc_last_run_completed_time_seconds", dimensions: tenant).record(time)
        Gauge(label: "skiff_site_gc_reachable_objects", dimensions: tenant).record(report.reachable)
    }

    func rejected(code: String) {
        Counter(label: "skiff_site_refusals_total", dimensions: [("code", code)]).increment()
    }

    func sealAccepted(tenant: String, host: String, time: Timestamp) {
        Counter(label: "skiff_site_seals_accepted_total", dimensions: [("tenant", tenant), ("host", host)]).increment()
        Gauge(label: "skiff_site_newest_seal_time_seconds", dimensions: [("tenant", tenant), ("host", host)]).record(Double(time.seconds))
    }

    func request(route: String, status: Int, seconds: Double) {
        Counter(label: "skiff_site_requests_total", dimensions: [("route", route), ("status", "\(status)")]).increment()
        Recorder(label: "skiff_site_request_duration_seconds", dimensions: [("route", route)], aggregate: true).record(seconds)
    }
}
