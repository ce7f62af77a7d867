import google.generativeai as genai

get_weather = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}

model = genai.GenerativeModel("gemini-1.5-pro", tools=[{"function_declarations": [get_weather]}])
response = model.generate_content('What is the weather in Paris? call get_weather(city="Paris", unit=celsius)')
part = response.candidates[0].content.parts[0]
print(part.function_call.name)
print(sorted(part.function_call.args.items()))
