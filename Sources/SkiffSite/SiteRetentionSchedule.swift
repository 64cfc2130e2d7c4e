import Foundation
import Logging
import ServiceLifecycle
import SkiffCore

/// Applies every tenant's retention policy and collects garbage, every `interval`, beside the
/// server; a collection that a stop or a crash interrupted is finished first, a minute after
/// start. Actions are recorded in the audit trail with the actor "schedule".
struct SiteRetentionSchedule: Service {
    let service: SiteService
    let interval: Duration
    let logger: Logger
    static let principal = Principal(tokenID: "schedule", role: .admin, tenants: [], host: nil)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                let interrupted = try service.registry.interruptedCollections()
                if !interrupted.isEmpty {
                    try await Task.sleep(for: .seconds(60))
                    for id in interrupted {
                        guard let tenant = try service.registry.tenant(id) else { continue }
                        logger.notice("finishing an interrupted garbage collection", metadata: ["tenant": "\(tenant.name)"])
                        _ = try await service.collectGarbage(tenant: tenant, principal: Self.principal)
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("finishing an interrupted garbage collection failed", metadata: ["error": "\(error)"])
            }
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                for tenant in (try? service.registry.tenants()) ?? [] {
                    do {
                        _ = try await service.applyRetention(tenant: tenant, principal: Self.principal)
                        _ = try await service.collectGarbage(tenant: tenant, principal: Self.principal)
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("scheduled retention failed", metadata: ["tenant": "\(tenant.name)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
