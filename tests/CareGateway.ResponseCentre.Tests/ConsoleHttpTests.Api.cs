using System.Net;
using System.Text.Json;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 18: the console's data as JSON, behind the same login; without a session 401 JSON, not the login page.</summary>
public sealed partial class ConsoleHttpTests
{
    [Theory]
    [InlineData("/api/queue")]
    [InlineData("/api/alarms/gw-0042/alarm-1")]
    [InlineData("/api/gateways")]
    public async Task Every_api_call_without_a_session_gets_401_json_not_the_login_page(string path)
    {
        using var browser = new Browser(_centre.BaseUrl);
        using var r = await browser.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);
        Assert.Null(r.Headers.Location);
        Assert.Contains("Not signed in", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_gives_the_queue_one_alarm_with_its_answers_and_the_gateways_as_json()
    {
        await _centre.Store.SetGatewayLabelAsync("gw-0042", "Kunde 1042", "Nord", default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);

        var queue = JsonDocument.Parse(await browser.Http.GetStringAsync("/api/queue")).RootElement;
        Assert.Equal(1, queue.GetProperty("total").GetInt32());
        var row = queue.GetProperty("alarms")[0];
        Assert.Equal(("gw-0042", "alarm-1", "Kunde 1042", "received"), (row.GetProperty("gatewayId").GetString(), row.GetProperty("alarmId").GetString(), row.GetProperty("homeLabel").GetString(), row.GetProperty("status").GetString()));

        var alarm = JsonDocument.Parse(await browser.Http.GetStringAsync("/api/alarms/gw-0042/alarm-1")).RootElement;
        Assert.Equal("wandering", alarm.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Array, alarm.GetProperty("acks").ValueKind);
        using var missing = await browser.Http.GetAsync("/api/alarms/gw-0042/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.Http.GetAsync("/api/queue?page=abc")).StatusCode);

        var gateways = JsonDocument.Parse(await browser.Http.GetStringAsync("/api/gateways")).RootElement;
        Assert.Contains(gateways.EnumerateArray(), g => g.GetProperty("gatewayId").GetString() == "gw-0042" && g.GetProperty("group").GetString() == "Nord");
    }
}
