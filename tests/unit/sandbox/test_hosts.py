

def test_each_sandbox_folder_names_its_own_containers(monkeypatch, tmp_path):
    from rollbook.sandbox.hosts import container_name

    monkeypatch.setenv("ROLLBOOK_SANDBOX_DIR", str(tmp_path / "a"))
    first = container_name("vision-1")
    monkeypatch.setenv("ROLLBOOK_SANDBOX_DIR", str(tmp_path / "b"))
    second = container_name("vision-1")
    assert second != first and second.startswith("rollbook-") and second.endswith("-vision-1")
    (tmp_path / "b").mkdir()
    monkeypatch.setenv("ROLLBOOK_SANDBOX_DIR", str(tmp_path / "b" / ".." / "b"))
    assert container_name("vision-1") == second  # the folder, however it is written
