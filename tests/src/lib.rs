//! Scenario runner shared by every face.
