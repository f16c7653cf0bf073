namespace CareGateway.Tests;

public class DemoTests
{
    [Fact]
    public async Task The_demo_raises_two_alarms_and_every_one_is_acknowledged_by_the_centre()
    {
        using var output = new StringWriter();

        var exitCode = await DemoCommand.RunAsync(output, CancellationToken.None);

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("raised 'wandering' alarm #1 (VKP 4.21, triage O)", text, StringComparison.Ordinal);
        Assert.Contains("raised 'panic' alarm #2 (VKP 4.13, triage R)", text, StringComparison.Ordinal);
        var summary = text.TrimEnd().Split('\n')[^1];
        Assert.Equal("Summary: 2 alarms raised, 2 received, 2 accepted, 2 closed by the centre; 2 stored at the centre, 0 duplicate copies dropped; demo OK", summary.TrimEnd());
    }
}
