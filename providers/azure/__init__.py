"""The Azure target: Functions on Linux Flex Consumption, Application Insights, managed identity."""
