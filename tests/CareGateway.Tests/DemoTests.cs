namespace CareGateway.Tests;

public class DemoTests
{
    [Fact]
    public async Task The_demo_raises_three_alarms_from_three_rules_and_every_one_is_acknowledged_by_the_centre()
    {
        using var output = new StringWriter();

        var exitCode = await CareGateway.Demo.Demo.RunAsync(output, CancellationToken.None);

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("raised 'bed-exit' alarm #1 (VKP 4.2, triage Y)", text, StringComparison.Ordinal);
        Assert.Contains("raised 'wandering' alarm #2 (VKP 4.21, triage O)", text, StringComparison.Ordinal);
        Assert.Contains("raised 'panic' alarm #3 (VKP 4.13, triage R)", text, StringComparison.Ordinal);
        var summary = text.TrimEnd().Split('\n')[^1];
        Assert.Equal("Summary: 3 alarms raised, 3 received, 3 accepted, 3 closed by the centre; 3 stored at the centre, 0 duplicate copies dropped; demo OK", summary.TrimEnd());
    }
}
