import Foundation
import SkiffCore
import SkiffSiteClient
import SkiffStorage
import SkiffStorageConformance
import SkiffSystem
import SkiffTestSupport
import Testing

/// The storage conformance suite, through the HTTPS site client, against a real skiff-site.
@Suite(.serialized) struct SiteConformanceTests {
    @Test(arguments: ObjectStoreConformance.checks)
    func conformance(_ check: ConformanceCheck) async throws {
        let farm = try await SiteFarm(sites: 1, label: "skiff-conformance")
        defer { farm.remove() }
        // A fresh tenant per check, with the fixture's hosts registered, so the store is empty.
        let fixture = try ConformanceFixture()
        let data = farm.sites[0].data.description
        try TreeGenerator.write(Array(fixture.tenant.publicKey.armored.utf8), to: farm.folder.appending("fixture.pub"))
        try await SiteFarm.siteCLI(["tenant", "add", "fixture", "--data", data, "--key", farm.folder.appending("fixture.pub").description])
        for key in fixture.hostKeys.values {
            try TreeGenerator.write(Array(key.certificate.armored(tenant: fixture.tenant.tenant).utf8), to: farm.folder.appending("fixture.cert"))
            try await SiteFarm.siteCLI(["host", "add", "--data", data, "--certificate", farm.folder.appending("fixture.cert").description])
        }
        let endpoint = SiteEndpoint(name: "a", url: farm.sites[0].url, token: try await farm.token(0, "admin"), trust: .pinned(fingerprint: try await farm.fingerprint(0)))
        let client = try await SiteClient.connect(endpoint, tenant: fixture.tenant.tenant)
        do {
            try await check.run(client, fixture)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
