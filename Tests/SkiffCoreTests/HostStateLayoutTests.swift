import Testing
@testable import SkiffCore

@Suite struct HostStateLayoutTests {
    let tenant = TenantID(hex: "00112233445566778899aabbccddeeff")!

    @Test func namesTheStateFolder() {
        let layout = HostStateLayout(stateFolder: "/var/lib/skiff")
        #expect(layout.outbox(tenant: tenant) == "/var/lib/skiff/outbox-00112233445566778899aabbccddeeff")
        #expect(layout.cacheFolder.path == "/var/lib/skiff/cache")
        #expect(layout.databaseCopies == "/var/lib/skiff/database-copies")
        #expect(layout.auditState == "/var/lib/skiff/audit.sqlite")
        #expect(layout.ownFolders(cache: layout.cacheFolder) == ["/var/lib/skiff", "/var/lib/skiff/cache"])
    }

    @Test func namesACacheFolder() {
        let cache = HostStateLayout.CacheFolder("/var/cache/skiff/")
        #expect(cache.localCache(tenant: tenant, host: "web-1") == "/var/cache/skiff/00112233445566778899aabbccddeeff-web-1.sqlite")
        #expect(cache.restoreJournals == "/var/cache/skiff/restore")
        #expect(cache.databaseCopies == "/var/cache/skiff/database-copies")
    }
}
