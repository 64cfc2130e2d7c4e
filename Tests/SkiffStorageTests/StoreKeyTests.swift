import SkiffCore
import SkiffStorage
import Testing

@Suite struct StoreKeyTests {
    @Test func onlyWellFormedObjectKeysNameAnAddress() throws {
        let address = ObjectAddress(SHA256Hasher.digest(Array("chunk".utf8)))
        #expect(StoreKey.object(address).objectAddress == address)
        let hex = address.hex
        let otherFan = hex.hasPrefix("00") ? "01" : "00"
        for path in ["objects/\(otherFan)/\(hex)", "objects/\(hex.prefix(2))/\(hex.dropLast())", "objects/\(hex.prefix(2))/\(hex)0",
                     "objects/\(hex.prefix(3))\(hex)", "seals/web1/\(hex.prefix(11))", "object/\(hex.prefix(2))/\(hex)x"] {
            #expect(try StoreKey(path).objectAddress == nil, "\(path)")
        }
        #expect(try StoreKey("objects/\(hex.prefix(2))/\(hex.prefix(63))g").objectAddress == nil)
    }
}
