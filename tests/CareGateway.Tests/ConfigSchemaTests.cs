using Newtonsoft.Json.Linq;

namespace CareGateway.Tests;

public class ConfigSchemaTests
{
    [Fact]
    public void The_published_config_schema_is_the_one_generated_from_the_config_types()
    {
        var published = RepoFiles.Read("docs", "schemas", "gateway-config.schema.json");

        Assert.True(
            published == ConfigSchema.Generate(),
            "docs/schemas/gateway-config.schema.json is stale: regenerate it with `dotnet run --project gateway/CareGateway -- config-schema > docs/schemas/gateway-config.schema.json`.");
    }

    [Fact]
    public async Task The_example_configuration_is_valid_against_the_published_schema()
    {
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(RepoFiles.Read("docs", "schemas", "gateway-config.schema.json"));
        var example = JToken.Parse(RepoFiles.Read("docs", "examples", "gateway.json"), new JsonLoadSettings { CommentHandling = CommentHandling.Ignore });

        Assert.Empty(schema.Validate(example));
    }

    [Fact]
    public async Task The_schema_rejects_a_misspelt_setting_and_an_unknown_sensor_kind()
    {
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(RepoFiles.Read("docs", "schemas", "gateway-config.schema.json"));

        Assert.NotEmpty(schema.Validate("""{ "gatewayId": "gw-1", "brokr": {} }"""));
        Assert.NotEmpty(schema.Validate("""{ "sensors": [ { "id": "x", "kind": "doorbell", "room": "hall" } ] }"""));
    }
}
