"""Drill records, Allure results, plots and the HTML report."""
