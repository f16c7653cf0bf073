namespace CareGateway.Tests.Cli;

/// <summary>A misspelt configuration key is named with its JSON path and the closest setting, together with every other problem.</summary>
public class ConfigKeyTests
{
    [Fact]
    public void Misspelt_keys_are_named_with_their_path_and_did_you_mean_and_every_error_comes_at_once()
    {
        const string json = """
            {
              // a comment is allowed
              "gatewayId": "Not Valid",
              "dataDirectory": "/tmp/x",
              "broker": { "host": "127.0.0.1", "prot": 1883 },
              "sensors": [ { "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11, "pul": "up" } } ],
              "careProfle": {}
            }
            """;

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "gateway.json"));

        Assert.Contains(ex.Errors, e => e.StartsWith("$.broker.prot (line 5): 'prot' is not a setting of '$.broker'. Did you mean 'port'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("$.sensors[0].gpio.pul (line 6):", StringComparison.Ordinal) && e.Contains("Did you mean 'pull'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("$.careProfle (line 7):", StringComparison.Ordinal) && e.Contains("Did you mean 'careProfile'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("$.gatewayId:", StringComparison.Ordinal));
        foreach (var error in ex.Errors)
        {
            Assert.DoesNotContain(".NET", error, StringComparison.Ordinal);
            Assert.DoesNotContain("CareGateway.", error, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_value_of_the_wrong_kind_names_its_path_and_line_without_type_names()
    {
        const string json = """
            {
              "gatewayId": "gw-1",
              "broker": { "host": "127.0.0.1", "port": "eighteen" }
            }
            """;

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "gateway.json"));

        var error = Assert.Single(ex.Errors);
        Assert.StartsWith("$.broker.port (line 3):", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }
}
